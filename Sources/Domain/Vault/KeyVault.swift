import Foundation

/// The use case behind `/v1/api-keys` and the router's access to a user's provider keys.
public struct KeyVault: Sendable {
    let store: any ApiKeyStore
    let sealer: any ApiKeySealer
    let now: @Sendable () -> Date
    let newID: @Sendable () -> UUID

    public init(store: any ApiKeyStore, sealer: any ApiKeySealer, now: @escaping @Sendable () -> Date = Date.init,
                newID: @escaping @Sendable () -> UUID = UUID.init) {
        self.store = store
        self.sealer = sealer
        self.now = now
        self.newID = newID
    }

    public static let maximumLabelLength = 100
    /// How many keys `decryptedKey` tries before giving up: enough to step past a damaged key or
    /// two, without reading every ciphertext of a user who stores hundreds.
    public static let fallbackCandidates = 5

    /// Validates, fingerprints, seals and stores. The plaintext lives only in this call.
    public func create(_ identity: AuthenticatedIdentity, provider rawProvider: String?, label rawLabel: String?,
                       key rawKey: String?) throws -> ApiKeyRecord {
        var errors: [FieldError] = []
        let provider = rawProvider.flatMap(ProviderID.init(rawValue:))
        if rawProvider == nil {
            errors.append(FieldError(field: "provider", code: "required", message: "is required"))
        } else if provider == nil || provider == .local {
            let known = ProviderID.allCases.filter { $0 != .local }.map(\.rawValue).joined(separator: ", ")
            errors.append(FieldError(field: "provider", code: "invalid", message: "must be one of \(known)"))
        }
        let label = Self.checkedLabel(rawLabel, into: &errors)
        let keyText = rawKey ?? ""
        if rawKey == nil {
            errors.append(FieldError(field: "key", code: "required", message: "is required"))
        } else if let provider, provider != .local, let problem = ApiKeyShape.problem(with: keyText, for: provider) {
            errors.append(FieldError(field: "key", code: "invalid_format", message: problem))
        }
        guard errors.isEmpty, let provider else { throw DomainError.validation(errors) }

        let key = ProviderAPIKey(keyText)
        let id = newID()
        let sealed = try sealer.seal(key, binding: ApiKeyBinding(userID: identity.userID, keyID: id, provider: provider))
        let fingerprints = try sealer.fingerprints(of: key, provider: provider)
        let characters = Array(keyText)
        let record = NewApiKey(
            id: id, userID: identity.userID, provider: provider, label: label, ciphertext: sealed.ciphertext,
            keyVersion: sealed.keyVersion, maskPrefix: String(characters.prefix(3)), last4: String(characters.suffix(4)),
            fingerprint: fingerprints[0], now: now())
        return try store.insert(record, claimsJSON: identity.claimsJSON, otherFingerprints: Array(fingerprints.dropFirst()))
    }

    /// Trimmed; 1 to `maximumLabelLength` Unicode scalars, else a field error.
    private static func checkedLabel(_ rawLabel: String?, into errors: inout [FieldError]) -> String {
        let label = (rawLabel ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if label.isEmpty {
            errors.append(FieldError(field: "label", code: "required", message: "is required"))
        } else if label.unicodeScalars.count > Self.maximumLabelLength {
            errors.append(FieldError(field: "label", code: "too_long", message: "must be at most \(Self.maximumLabelLength) characters"))
        }
        return label
    }

    /// Renames a stored key: the label is the only thing about a stored key that can change.
    public func relabel(_ identity: AuthenticatedIdentity, id rawID: String, label rawLabel: String?) throws -> ApiKeyRecord {
        guard let id = UUID(uuidString: rawID) else { throw DomainError.notFound(resource: "API key") }
        var errors: [FieldError] = []
        let label = Self.checkedLabel(rawLabel, into: &errors)
        guard errors.isEmpty else { throw DomainError.validation(errors) }
        guard let record = try store.relabel(id: id, label: label, claimsJSON: identity.claimsJSON, now: now()) else {
            throw DomainError.notFound(resource: "API key")
        }
        return record
    }

    public func list(_ identity: AuthenticatedIdentity) throws -> [ApiKeyRecord] {
        try store.list(claimsJSON: identity.claimsJSON)
    }

    /// One stored key (its mask, never the key); another user's id and a malformed one are the same 404.
    public func record(_ identity: AuthenticatedIdentity, id rawID: String) throws -> ApiKeyRecord {
        guard let id = UUID(uuidString: rawID), let record = try store.record(id: id, claimsJSON: identity.claimsJSON) else {
            throw DomainError.notFound(resource: "API key")
        }
        return record
    }

    public func delete(_ identity: AuthenticatedIdentity, id rawID: String) throws {
        // Another user's id and a malformed one get the same 404: existence is not disclosed.
        guard let id = UUID(uuidString: rawID), try store.delete(id: id, claimsJSON: identity.claimsJSON) else {
            throw DomainError.notFound(resource: "API key")
        }
    }

    /// Whether the caller has a key for `provider` that is not known to be invalid (no decryption).
    public func hasUsableKey(_ identity: AuthenticatedIdentity, provider: ProviderID) throws -> Bool {
        try !store.usableKeys(provider: provider, claimsJSON: identity.claimsJSON, limit: 1).isEmpty
    }

    /// The decrypted key the router uses for (user, provider): the best usable key that opens.
    /// A key whose ciphertext does not open (copied from elsewhere, wrong secret) is skipped in
    /// favour of the next; if none opens, `KeyVaultError.unopenable` names the first, and with no
    /// key at all it is `KeyVaultError.noKey`. `claimsJSON` is the owner's (the worker builds it).
    public func decryptedKey(userID: UUID, claimsJSON: String, provider: ProviderID) throws -> ProviderAPIKey {
        let candidates = try store.usableKeys(provider: provider, claimsJSON: claimsJSON, limit: Self.fallbackCandidates)
        var firstFailure: KeyVaultError?
        for candidate in candidates where candidate.userID == userID && candidate.provider == provider {
            do {
                let key = try sealer.open(candidate.ciphertext,
                                          binding: ApiKeyBinding(userID: userID, keyID: candidate.id, provider: provider))
                try store.markUsed(id: candidate.id, claimsJSON: claimsJSON, now: now())
                return key
            } catch let error as KeyVaultError {
                firstFailure = firstFailure ?? error
            }
        }
        throw firstFailure ?? KeyVaultError.noKey(provider)
    }

    /// The key admission chose and marked used for a first attempt (`FirstAttemptClearance.key`),
    /// opened. One that does not open gets its `last_used_at` back and the choice is made as
    /// `decryptedKey(userID:claimsJSON:provider:)` makes it (the next usable key that opens).
    public func decryptedKey(admitted key: AdmittedKey, userID: UUID, claimsJSON: String) throws -> ProviderAPIKey {
        let sealed = key.sealed
        do {
            guard sealed.userID == userID else { throw KeyVaultError.noKey(sealed.provider) }
            return try sealer.open(sealed.ciphertext, binding: ApiKeyBinding(userID: userID, keyID: sealed.id, provider: sealed.provider))
        } catch is KeyVaultError {
            try store.unmarkUsed(id: sealed.id, markedAt: key.markedAt, previous: key.previousLastUsedAt, claimsJSON: claimsJSON)
            return try decryptedKey(userID: userID, claimsJSON: claimsJSON, provider: sealed.provider)
        }
    }

    /// The provider's free key check (`POST /v1/api-keys/{id}/test`): `valid` or `invalid` is
    /// recorded with the provider's reason; a check that could not reach a verdict (rate limit,
    /// outage, timeout) changes nothing and is reported as inconclusive.
    public func test(_ identity: AuthenticatedIdentity, id rawID: String,
                     provider lookup: (ProviderID) -> (any MediaProvider)?) throws -> KeyTestOutcome {
        guard let id = UUID(uuidString: rawID), let sealed = try store.sealedKey(id: id, claimsJSON: identity.claimsJSON) else {
            throw DomainError.notFound(resource: "API key")
        }
        let key = try sealer.open(sealed.ciphertext, binding: ApiKeyBinding(userID: identity.userID, keyID: id, provider: sealed.provider))
        guard let provider = lookup(sealed.provider) else {
            throw DomainError.unavailable(code: "provider_unavailable", detail: "No adapter is configured for \(sealed.provider.rawValue).")
        }
        let checked: Result<KeyValidation, ProviderError>
        do throws(ProviderError) {
            checked = .success(try provider.validateKey(key))
        } catch {
            checked = .failure(error)
        }
        switch checked {
        case .success(let validation):
            let record = try store.recordCheck(id: id, claimsJSON: identity.claimsJSON, status: .valid,
                                               reason: "accepted by \(validation.checkedWith)", now: now())
            return KeyTestOutcome(record: record, verdict: .valid, reason: "accepted by \(validation.checkedWith)", account: validation.account)
        case .failure(let error):
            // Providers echo parts of a rejected key back; scrub before it is stored or shown.
            let reason = "\(error.code): " + SecretScrubber.scrub(error.message, secrets: [key.plaintext])
            switch error.kind {
            case .invalidKey, .permissionDenied:
                let record = try store.recordCheck(id: id, claimsJSON: identity.claimsJSON, status: .invalid, reason: reason, now: now())
                return KeyTestOutcome(record: record, verdict: .invalid, reason: reason, account: nil)
            default:
                let record = try store.recordCheck(id: id, claimsJSON: identity.claimsJSON, status: nil, reason: reason, now: now())
                return KeyTestOutcome(record: record, verdict: .inconclusive, reason: reason, account: nil)
            }
        }
    }
}

public struct KeyTestOutcome: Sendable {
    public enum Verdict: String, Sendable {
        case valid, invalid, inconclusive
    }

    public let record: ApiKeyRecord
    public let verdict: Verdict
    /// The provider's reason, already scrubbed of key material by the provider layer.
    public let reason: String
    public let account: AccountSummary?
}

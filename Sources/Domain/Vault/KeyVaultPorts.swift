import Foundation

/// Seals and opens provider keys, and fingerprints them for duplicate detection. Implemented over
/// the Crypto module in the composition root; the Domain never sees key material of its own.
public protocol ApiKeySealer: Sendable {
    /// The version new ciphertexts are sealed under. Throws when the keys cannot be derived
    /// (no secret configured, database unreachable for the salt).
    func currentKeyVersion() throws -> UInt32
    func seal(_ key: ProviderAPIKey, binding: ApiKeyBinding) throws -> (ciphertext: Data, keyVersion: UInt32)
    /// Throws `KeyVaultError.unopenable` for anything that does not open.
    func open(_ ciphertext: Data, binding: ApiKeyBinding) throws -> ProviderAPIKey
    /// The fingerprint under every key version held, current first: during a rotation rows carry
    /// either, and a duplicate must be caught against both.
    func fingerprints(of key: ProviderAPIKey, provider: ProviderID) throws -> [Data]
}

/// Rows of `user_api_keys`, always in the caller's user scope (RLS decides what exists).
public protocol ApiKeyStore: Sendable {
    /// Throws `DomainError.conflict(code: "duplicate_key", ...)` when a fingerprint already exists.
    func insert(_ key: NewApiKey, claimsJSON: String, otherFingerprints: [Data]) throws -> ApiKeyRecord
    func list(claimsJSON: String) throws -> [ApiKeyRecord]
    /// The caller's key with this id; nil when the caller has none.
    func record(id: UUID, claimsJSON: String) throws -> ApiKeyRecord?
    /// false when no such row is visible to the caller.
    func delete(id: UUID, claimsJSON: String) throws -> Bool
    /// Changes the label of the caller's key; nil when the caller has no such key.
    func relabel(id: UUID, label: String, claimsJSON: String, now: Date) throws -> ApiKeyRecord?
    /// The caller's keys for one provider that are not known to be invalid, best first
    /// (valid before unchecked, newest first), at most `limit` of them: the router needs one, the
    /// rest only as fallbacks past a key that does not open.
    func usableKeys(provider: ProviderID, claimsJSON: String, limit: Int) throws -> [SealedApiKey]
    func markUsed(id: UUID, claimsJSON: String, now: Date) throws
    /// Gives a key marked used at `markedAt` (by admission, `clear_first_attempt`) its `previous`
    /// `last_used_at` back, unless it was marked again since: it did not open, so it was not used.
    func unmarkUsed(id: UUID, markedAt: Date, previous: Date?, claimsJSON: String) throws
    /// One of the caller's keys by id, still sealed; nil when not visible to the caller.
    func sealedKey(id: UUID, claimsJSON: String) throws -> SealedApiKey?
    /// Records a check's outcome; `status` nil keeps the current status (an inconclusive check).
    func recordCheck(id: UUID, claimsJSON: String, status: ApiKeyStatus?, reason: String, now: Date) throws -> ApiKeyRecord
}

/// A row after rotation: sealed under the current version, fingerprinted under its sub-key.
public struct ResealedApiKey: Sendable {
    public let ciphertext: Data
    public let keyVersion: UInt32
    public let fingerprint: Data

    public init(ciphertext: Data, keyVersion: UInt32, fingerprint: Data) {
        self.ciphertext = ciphertext
        self.keyVersion = keyVersion
        self.fingerprint = fingerprint
    }
}

/// Cross-user maintenance over `user_api_keys` (service role): the rotation's view of the table.
public protocol ApiKeyRotationStore: Sendable {
    func count(onKeyVersion keyVersion: UInt32) throws -> Int
    /// One transaction: locks up to `limit` rows not on `keyVersion` and not in `skipping`
    /// (`for update skip locked`, so parallel runs share the work), passes each to `reseal`,
    /// writes the rows it returned, commits. Returns how many were rewritten and the ids `reseal`
    /// refused (nil), which stay as they were.
    func rotateBatch(to keyVersion: UInt32, limit: Int, skipping: [UUID],
                     reseal: (SealedApiKey) -> ResealedApiKey?) throws -> (rotated: Int, refused: [UUID])
}

import Foundation

/// What admission clears for the first attempt of a generation it admits to run here, in its own
/// call (`GenerationStore.admit(_:reserveOn:start:leaseOwner:leaseSeconds:clearing:claimsJSON:)`),
/// so the runner's first attempt reads nothing more: the gate's circuit, rate token and half-open
/// trial (`RouterAttemptGate.clear`), and the key to use, marked used (`KeyVault.decryptedKey`).
public struct FirstAttemptCheck: Sendable, Equatable {
    public let provider: ProviderID
    /// Whether calls to `provider` need the user's key (false for keyless providers).
    public let needsKey: Bool
    /// The gate's clock: the rate bucket and the circuit are judged at this instant.
    public let at: Date
    /// How long a claimed half-open trial holds the circuit (`HealthPolicy.cooldown`).
    public let cooldown: TimeInterval

    public init(provider: ProviderID, needsKey: Bool, at: Date, cooldown: TimeInterval) {
        self.provider = provider
        self.needsKey = needsKey
        self.at = at
        self.cooldown = cooldown
    }
}

/// How admission clears first attempts (see `FirstAttemptCheck`); built in the composition root.
public struct FirstAttemptClearing: Sendable {
    public let cooldown: TimeInterval
    public let needsKey: @Sendable (ProviderID) -> Bool

    public init(cooldown: TimeInterval, needsKey: @escaping @Sendable (ProviderID) -> Bool) {
        self.cooldown = cooldown
        self.needsKey = needsKey
    }

    func check(_ provider: ProviderID, at now: Date) -> FirstAttemptCheck {
        FirstAttemptCheck(provider: provider, needsKey: needsKey(provider), at: now, cooldown: cooldown)
    }
}

/// Admission's word on the first attempt: carried by the admitted record to the runner's first
/// step (`GenerationRecord.firstAttempt`), never stored.
public struct FirstAttemptClearance: Sendable, Equatable {
    public let provider: ProviderID
    /// nil: send it. Otherwise why not (`circuit_open`, `rate_limited`), as `AttemptGate.clear` says.
    public let skipReason: String?
    /// The key to send it with, chosen and marked used; nil when none is needed, or none is usable
    /// (the key lookup then says why, as before).
    public let key: AdmittedKey?

    public init(provider: ProviderID, skipReason: String?, key: AdmittedKey?) {
        self.provider = provider
        self.skipReason = skipReason
        self.key = key
    }
}

/// A key admission chose and marked used at `markedAt`, still sealed: opened in Swift
/// (`KeyVault.decryptedKey(admitted:userID:claimsJSON:)`), since the vault's keys never enter SQL.
public struct AdmittedKey: Sendable, Equatable {
    public let sealed: SealedApiKey
    /// Its `last_used_at` before admission marked it: given back if it does not open.
    public let previousLastUsedAt: Date?
    public let markedAt: Date

    public init(sealed: SealedApiKey, previousLastUsedAt: Date?, markedAt: Date) {
        self.sealed = sealed
        self.previousLastUsedAt = previousLastUsedAt
        self.markedAt = markedAt
    }
}

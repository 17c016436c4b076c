import Foundation

/// The router's word around each provider attempt of a running generation: whether the attempt
/// may be sent now (its circuit and rate budget, as they are at that moment, not at admission),
/// and what it came to afterwards (health and the provider's rate-limit news).
public protocol AttemptGate: Sendable {
    /// nil: send it. Otherwise the stable code of why not (`circuit_open`, `rate_limited`); the
    /// candidate is skipped, uncalled, and the next is tried.
    func clear(_ provider: ProviderID, userID: UUID, claimsJSON: String, at now: Date) throws -> String?
    /// After every attempt that reached the provider: its outcome, and the rate-limit headers (or
    /// retry-after) its answer carried.
    func report(_ provider: ProviderID, outcome: AttemptOutcome, headers: [String: String], retryAfter: Double?,
                userID: UUID, claimsJSON: String, at now: Date) throws
}

/// No gate: every attempt may be sent and nothing is recorded.
public struct OpenAttemptGate: AttemptGate {
    public init() {}

    public func clear(_ provider: ProviderID, userID: UUID, claimsJSON: String, at now: Date) throws -> String? { nil }

    public func report(_ provider: ProviderID, outcome: AttemptOutcome, headers: [String: String], retryAfter: Double?,
                       userID: UUID, claimsJSON: String, at now: Date) throws {}
}

import Foundation

/// The router's word around each provider attempt of a running generation: whether the attempt
/// may be sent now (its circuit and rate budget, as they are at that moment, not at admission),
/// and what it came to afterwards (health and the provider's rate-limit news), which the store
/// writes with the attempt's own write (`GenerationCompletion.report`, `recordAttempt`'s
/// `report`, `GenerationChanges.report`): reporting costs no round trip of its own.
public protocol AttemptGate: Sendable {
    /// nil: send it. Otherwise the stable code of why not (`circuit_open`, `rate_limited`); the
    /// candidate is skipped, uncalled, and the next is tried.
    func clear(_ provider: ProviderID, userID: UUID, claimsJSON: String, at now: Date) throws -> String?
    /// After every attempt that reached the provider: the report of its outcome and of the
    /// rate-limit headers (or retry-after) its answer carried. nil: nothing is recorded.
    func report(_ provider: ProviderID, outcome: AttemptOutcome, headers: [String: String], retryAfter: Double?,
                at now: Date) -> AttemptReport?
}

/// What one attempt taught the router: its outcome on the provider's health (with the policy's
/// thresholds) and, when the answer spoke of it, the rate limit.
public struct AttemptReport: Sendable, Equatable {
    public let provider: ProviderID
    public let outcome: AttemptOutcome
    /// nil: the answer said nothing of the rate limit.
    public let rateLimit: RateLimitObservation?
    public let policy: HealthPolicy
    public let at: Date

    public init(provider: ProviderID, outcome: AttemptOutcome, rateLimit: RateLimitObservation?, policy: HealthPolicy, at: Date) {
        self.provider = provider
        self.outcome = outcome
        self.rateLimit = rateLimit.flatMap { $0.isEmpty ? nil : $0 }
        self.policy = policy
        self.at = at
    }
}

/// No gate: every attempt may be sent and nothing is recorded.
public struct OpenAttemptGate: AttemptGate {
    public init() {}

    public func clear(_ provider: ProviderID, userID: UUID, claimsJSON: String, at now: Date) throws -> String? { nil }

    public func report(_ provider: ProviderID, outcome: AttemptOutcome, headers: [String: String], retryAfter: Double?,
                       at now: Date) -> AttemptReport? { nil }
}

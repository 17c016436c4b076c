import Foundation

/// The engine's attempt gate on the router's shared stores: an open circuit skips the provider;
/// a rate token is taken before every attempt; a half-open circuit lets exactly one trial through
/// (across processes); every attempt's outcome goes on the provider's health and its rate-limit
/// headers into the bucket (written by the store with the attempt, under `policy`).
public struct RouterAttemptGate: AttemptGate {
    let router: ProviderRouter
    let policy: HealthPolicy

    public init(router: ProviderRouter, policy: HealthPolicy = .standard) {
        self.router = router
        self.policy = policy
    }

    public func clear(_ provider: ProviderID, userID: UUID, claimsJSON: String, at now: Date) throws -> String? {
        let identity = Self.identity(userID, claimsJSON)
        // Health and configuration from one read of the routing state (one round trip).
        let state = try router.state(for: identity, at: now)
        let health = state.health[provider] ?? .unknown
        let circuit = health.circuit(at: now)
        if circuit == .open { return SkipReason.circuitOpen(until: now).code }
        let requestsPerMinute = (state.configs[provider] ?? .defaults(for: provider)).requestsPerMinute
        // The token before the trial: a refused token must not leave a claimed trial unused.
        if case .refused = try router.acquire(provider, requestsPerMinute: requestsPerMinute, for: identity, at: now) {
            return SkipReason.rateLimited(until: now).code
        }
        if circuit == .halfOpen, try !router.claimTrial(provider, claimsJSON: claimsJSON, at: now) {
            return SkipReason.circuitOpen(until: now).code
        }
        return nil
    }

    public func report(_ provider: ProviderID, outcome: AttemptOutcome, headers: [String: String], retryAfter: Double?,
                       at now: Date) -> AttemptReport? {
        AttemptReport(provider: provider, outcome: outcome,
                      rateLimit: RateLimitObservation(headers: headers, retryAfter: retryAfter, at: now), policy: policy, at: now)
    }

    /// The stores act through the claims alone; the engine runs as the generation's owner.
    private static func identity(_ userID: UUID, _ claimsJSON: String) -> AuthenticatedIdentity {
        AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claimsJSON)
    }
}

import Foundation

/// The engine's attempt gate on the router's shared stores: an open circuit skips the provider;
/// a rate token is taken before every attempt; a half-open circuit lets exactly one trial through
/// (across processes); every attempt's outcome goes on the provider's health and its rate-limit
/// headers into the bucket.
public struct RouterAttemptGate: AttemptGate {
    let router: ProviderRouter

    public init(router: ProviderRouter) {
        self.router = router
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
                       userID: UUID, claimsJSON: String, at now: Date) throws {
        try router.record(outcome, provider: provider, claimsJSON: claimsJSON, at: now)
        guard !headers.isEmpty || retryAfter != nil else { return }
        try router.observe(headers: headers, retryAfter: retryAfter, provider: provider,
                           requestsPerMinute: try requestsPerMinute(provider, Self.identity(userID, claimsJSON)), claimsJSON: claimsJSON, at: now)
    }

    private func requestsPerMinute(_ provider: ProviderID, _ identity: AuthenticatedIdentity) throws -> Int? {
        (try router.configs.configs(as: identity).first { $0.provider == provider } ?? .defaults(for: provider)).requestsPerMinute
    }

    /// The stores act through the claims alone; the engine runs as the generation's owner.
    private static func identity(_ userID: UUID, _ claimsJSON: String) -> AuthenticatedIdentity {
        AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claimsJSON)
    }
}

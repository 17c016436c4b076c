import Foundation

/// The router as the generation engine uses it: gather the caller's routing state and plan
/// (`plan`), take a rate token right before each attempt (`acquire`), and report every attempt's
/// outcome and the provider's rate-limit word afterwards (`record`, `observe`). Every piece of
/// state is read from and written to shared stores, so all processes route alike.
public struct ProviderRouter: Sendable {
    let configs: any ProviderConfigStore
    let health: any ProviderHealthStore
    let rates: any RateLimitStore
    let catalog: @Sendable () -> [ProviderCapabilities]
    /// Providers with a key that is not known to be invalid.
    let usableKeys: @Sendable (AuthenticatedIdentity) throws -> Set<ProviderID>
    /// limit − spent − reserved of each provider scope that has a monthly budget.
    let providerBudgetRemaining: @Sendable (AuthenticatedIdentity) throws -> [ProviderID: Money]
    /// Models served without being listed (OpenRouter, FAL), for a request that names one.
    let unlistedModel: UnlistedModelLookup?
    /// The five reads of `state` at once (one round trip), when the stores can do that; nil:
    /// each store is asked in turn.
    let reads: (@Sendable (AuthenticatedIdentity) throws -> RoutingReads)?

    public init(configs: any ProviderConfigStore, health: any ProviderHealthStore, rates: any RateLimitStore,
                catalog: @escaping @Sendable () -> [ProviderCapabilities],
                usableKeys: @escaping @Sendable (AuthenticatedIdentity) throws -> Set<ProviderID>,
                providerBudgetRemaining: @escaping @Sendable (AuthenticatedIdentity) throws -> [ProviderID: Money],
                unlistedModel: UnlistedModelLookup? = nil, reads: (@Sendable (AuthenticatedIdentity) throws -> RoutingReads)? = nil) {
        self.reads = reads
        self.configs = configs
        self.health = health
        self.rates = rates
        self.catalog = catalog
        self.usableKeys = usableKeys
        self.providerBudgetRemaining = providerBudgetRemaining
        self.unlistedModel = unlistedModel
    }

    /// The caller's routing state now (five reads: configs, health, buckets, keys, provider budgets).
    public func state(for identity: AuthenticatedIdentity, at now: Date) throws -> RoutingState {
        if let reads { return state(from: try reads(identity), at: now) }
        return RoutingState(catalog: catalog(), configs: Dictionary(try configs.configs(as: identity).map { ($0.provider, $0) }) { first, _ in first },
                     health: try health.health(claimsJSON: identity.claimsJSON), usableKeys: try usableKeys(identity),
                     buckets: try rates.buckets(claimsJSON: identity.claimsJSON),
                     providerBudgetRemaining: try providerBudgetRemaining(identity), now: now)
    }

    /// The routing state from reads made elsewhere (admission reads them with the project), on
    /// `catalog` when the caller has one already, else on the router's own.
    public func state(from read: RoutingReads, at now: Date, catalog given: [ProviderCapabilities]? = nil) -> RoutingState {
        RoutingState(catalog: given ?? catalog(), configs: Dictionary(read.configs.map { ($0.provider, $0) }) { first, _ in first },
                     health: read.health, usableKeys: read.usableKeys, buckets: read.buckets,
                     providerBudgetRemaining: read.providerBudgetRemaining, now: now)
    }

    public func plan(_ request: RouteRequest, for identity: AuthenticatedIdentity, at now: Date) throws -> RoutePlan {
        plan(request, in: try state(for: identity, at: now))
    }

    /// The plan on routing state read elsewhere (`QuoteReads.routing`) and on `catalog`, which already
    /// includes the request's model wherever a provider serves it unlisted (the quote's: extending the
    /// catalog again here was about 1.5 % of a chat completion's instructions in the server).
    public func plan(_ request: RouteRequest, reads: RoutingReads, catalog: [ProviderCapabilities], at now: Date) -> RoutePlan {
        RoutePlanner.plan(request, state(from: reads, at: now, catalog: catalog))
    }

    private func plan(_ request: RouteRequest, in state: RoutingState) -> RoutePlan {
        var state = state
        state.catalog = state.catalog.including(model: request.model, kind: request.kind, lookup: unlistedModel)
        return RoutePlanner.plan(request, state)
    }

    /// The caller's health rows (providers never attempted are absent: `.unknown`).
    public func health(for identity: AuthenticatedIdentity) throws -> [ProviderID: ProviderHealthState] {
        try health.health(claimsJSON: identity.claimsJSON)
    }

    /// Takes the credential's rate token for one attempt; `.refused` means: fall through to the
    /// next candidate (or wait until `retryAt`). `requestsPerMinute` is the option's config value.
    public func acquire(_ provider: ProviderID, requestsPerMinute: Int?, for identity: AuthenticatedIdentity,
                        at now: Date) throws -> TokenBucket.Acquisition {
        try rates.acquire(provider: provider, requestsPerMinute: requestsPerMinute, at: now, claimsJSON: identity.claimsJSON)
    }

    /// Before an attempt on an option whose circuit is half-open: true for exactly one caller
    /// across all processes (that attempt is the trial); the others move on to the next candidate.
    public func claimTrial(_ provider: ProviderID, claimsJSON: String, at now: Date) throws -> Bool {
        try health.claimTrial(provider: provider, at: now, claimsJSON: claimsJSON)
    }

    /// After every attempt: the outcome on the provider's health (one statement).
    @discardableResult
    public func record(_ outcome: AttemptOutcome, provider: ProviderID, claimsJSON: String, at now: Date) throws -> ProviderHealthState {
        try health.record(outcome, provider: provider, at: now, claimsJSON: claimsJSON)
    }

    /// After every answer that carried rate-limit news: a success's `GenerationOutput.rateLimits`,
    /// or a failure's `ProviderError.rateLimitHeaders` (with `retryAfter` as a fallback for
    /// errors made without headers, such as Veo's RESOURCE_EXHAUSTED delay).
    public func observe(headers: [String: String], retryAfter: Double? = nil, provider: ProviderID, requestsPerMinute: Int?,
                        claimsJSON: String, at now: Date) throws {
        try rates.observe(RateLimitObservation(headers: headers, retryAfter: retryAfter, at: now), provider: provider, requestsPerMinute: requestsPerMinute, at: now, claimsJSON: claimsJSON)
    }

    /// After a failed attempt: what its answer said (a 429's or 503's headers and retry-after).
    public func observe(_ error: ProviderError, requestsPerMinute: Int?, claimsJSON: String, at now: Date) throws {
        try observe(headers: error.rateLimitHeaders ?? [:], retryAfter: error.retryAfter, provider: error.provider,
                    requestsPerMinute: requestsPerMinute, claimsJSON: claimsJSON, at: now)
    }
}

/// What `ProviderRouter.state` reads, read together (see `ProviderRouter.reads`).
public struct RoutingReads: Sendable {
    public let configs: [ProviderConfig]
    public let health: [ProviderID: ProviderHealthState]
    /// Providers with a key that is not known to be invalid.
    public let usableKeys: Set<ProviderID>
    public let buckets: [ProviderID: TokenBucket]
    /// limit − spent − reserved of each provider scope that has a monthly budget.
    public let providerBudgetRemaining: [ProviderID: Money]
    /// limit − spent − reserved of the user's own monthly limit; nil without one.
    public let userBudgetRemaining: Money?

    public init(configs: [ProviderConfig], health: [ProviderID: ProviderHealthState], usableKeys: Set<ProviderID>,
                buckets: [ProviderID: TokenBucket], providerBudgetRemaining: [ProviderID: Money], userBudgetRemaining: Money? = nil) {
        self.configs = configs
        self.health = health
        self.usableKeys = usableKeys
        self.buckets = buckets
        self.providerBudgetRemaining = providerBudgetRemaining
        self.userBudgetRemaining = userBudgetRemaining
    }
}

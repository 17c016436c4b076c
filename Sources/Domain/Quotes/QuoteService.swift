import Foundation

/// `POST /v1/quotes`: estimates a request with every candidate provider, in routing order,
/// against the project's budget, without reserving or writing anything. The order, the model of
/// each provider and the reasons come from the route planner (the user's provider configurations,
/// health, rate limits, provider budgets), the same plan a generation is admitted with.
public struct QuoteService: Sendable {
    /// The project, the current pricing version's id and the routing state, in one round trip.
    /// `reusing` true may give an earlier admission's read of the same project and token instead (at
    /// most `ADMISSION_READ_REUSE_MS` old, marked `QuoteReads.reused`); false reads afresh.
    public let read: @Sendable (_ project: UUID, AuthenticatedIdentity, _ reusing: Bool) throws -> QuoteReads
    /// Pricing versions by id (decoded once per process: a version never changes).
    public let pricing: any PricingStore
    public let catalog: @Sendable () -> [ProviderCapabilities]
    public let tokenCounter: any TokenCounting
    /// The route planner over the caller's routing state as read, on the catalog the quote extended
    /// with the named model already (`ProviderRouter.plan(_:reads:catalog:at:)`).
    public let route: @Sendable (RouteRequest, RoutingReads, [ProviderCapabilities]) -> RoutePlan
    /// Models served without being listed (OpenRouter, FAL), for a request that names one.
    public let unlistedModel: UnlistedModelLookup?

    public init(read: @escaping @Sendable (_ project: UUID, AuthenticatedIdentity, _ reusing: Bool) throws -> QuoteReads,
                pricing: any PricingStore, catalog: @escaping @Sendable () -> [ProviderCapabilities], tokenCounter: any TokenCounting,
                route: @escaping @Sendable (RouteRequest, RoutingReads, [ProviderCapabilities]) -> RoutePlan,
                unlistedModel: UnlistedModelLookup? = nil) {
        self.read = read
        self.pricing = pricing
        self.catalog = catalog
        self.tokenCounter = tokenCounter
        self.route = route
        self.unlistedModel = unlistedModel
    }

    /// `counting`, when given, counts input tokens instead of the service's counter (a quote may
    /// ask a provider's own count, on a thread that may wait for it); admission never does, so the
    /// estimate a reservation holds stays the counter's upper bound.
    public func quote(_ request: QuoteRequest, as identity: AuthenticatedIdentity, counting: (any TokenCounting)? = nil) throws -> Quote {
        try pricedQuote(request, as: identity, counting: counting).quote
    }

    /// The quote with the pricing version it was priced with, for admission (which prices the
    /// actual cost with the same version later). `reusingRecentReads`: an admission's, which may
    /// price on an earlier admission's reads (`read` reusing) when they give it a candidate to run on;
    /// `readsReused` says it did, and anything else is decided on fresh reads.
    public func pricedQuote(_ request: QuoteRequest, as identity: AuthenticatedIdentity, counting: (any TokenCounting)? = nil,
                            reusingRecentReads: Bool = false) throws -> (quote: Quote, pricing: PricingVersion, readsReused: Bool) {
        let errors = request.validationErrors()
        guard errors.isEmpty else { throw DomainError.validation(errors) }
        guard let projectID = UUID(readingText: request.projectID) else { throw DomainError.notFound(resource: "project") }
        if reusingRecentReads {
            let reads = try read(projectID, identity, true)
            guard reads.reused else {
                let (quote, version) = try price(request, reads: reads, as: identity, counting: counting)
                return (quote, version, false)
            }
            if let (quote, version) = try? price(request, reads: reads, as: identity, counting: counting),
               quote.candidates.contains(where: \.admitted) {
                return (quote, version, true)
            }
        }
        let (quote, version) = try price(request, reads: try read(projectID, identity, false), as: identity, counting: counting)
        return (quote, version, false)
    }

    private func price(_ request: QuoteRequest, reads: QuoteReads, as identity: AuthenticatedIdentity,
                       counting: (any TokenCounting)?) throws -> (quote: Quote, pricing: PricingVersion) {
        // The session first, as `requireLiveSession` would have refused before anything else was read.
        if identity.sessionCheckDeferred { try AuthService.requireLive(reads.session, at: Date()) }
        guard let project = reads.project else { throw DomainError.notFound(resource: "project") }
        guard let version = try reads.pricingVersionID.flatMap({ try pricing.version(id: $0) }) else {
            throw DomainError.unavailable(code: "pricing_unavailable", detail: "No pricing version is loaded.")
        }
        // The catalog with the named model added where served unlisted, once for the whole quote.
        let catalog = catalog(for: request)
        let candidates = candidates(for: request, in: catalog)
        guard !candidates.isEmpty else {
            throw DomainError.validation([FieldError(field: request.model == nil ? "type" : "model", code: "no_provider",
                                                     message: "No provider offers \(request.kind.rawValue)"
                                                        + (request.model.map { " with model \($0)" } ?? "")
                                                        + (request.provider.map { " at \($0.rawValue)" } ?? ""))])
        }
        // A caller who names both the provider and the model has chosen it: parameters it cannot
        // take are a mistake in the request, not a routing decision.
        if request.provider != nil, request.model != nil, let (_, model) = candidates.first {
            let unsupported = request.unsupportedParameters(for: model)
            guard unsupported.isEmpty else { throw DomainError.validation(unsupported) }
        }
        let estimator = CostEstimator(pricing: version, tokenCounter: counting ?? tokenCounter)
        let remaining = project.budget.remaining
        let capabilities = Dictionary(catalog.map { ($0.provider, $0) }, uniquingKeysWith: { first, _ in first })
        // Each model is priced with its own defaults for what the request leaves out, once: the
        // planner asks for the estimates it compares and the candidates below show the same ones.
        let estimates = QuoteEstimates()
        let estimate: @Sendable (ProviderID, String) -> CostEstimate = { provider, model in
            estimates.estimate(provider, model) {
                estimator.estimate(request.estimateRequest(for: capabilities[provider]?.model(model, kind: request.kind)),
                                   provider: provider.rawValue, model: model)
            }
        }
        let plan = route(routeRequest(request) { provider, model in estimate(provider, model).breakdown.total }, reads.routing, catalog)
        var quoted: [Quote.Candidate] = []
        // Providers that make nothing of this kind (or lack the pinned model) are not candidates at all, as before.
        for option in plan.options where !option.skipReasons.contains(.unsupportedKind) {
            guard let modelID = option.model, let model = capabilities[option.provider]?.model(modelID, kind: request.kind) else { continue }
            let estimate = estimate(option.provider, modelID)
            // Parameters are judged by the quote's own check (the catalog's names and values,
            // without the inputs a quote does not need, such as the image of an image-to-video);
            // the planner's check only chose the model.
            var reasons = Set(option.skipReasons.filter { if case .unsupportedParameters = $0 { false } else { true } }.map(\.code))
            if !request.unsupportedParameters(for: model).isEmpty { reasons.insert(SkipReason.unsupportedParameters([]).code) }
            // The reservation's own rule (app_ledger.reserve): what it holds must fit, and a call that
            // holds nothing (free or unpriced) at a provider that may charge needs some room left.
            let held = estimate.breakdown.total ?? .zero
            let needsHeadroom = held == .zero && option.provider != .local
            let exceeds = { (left: Money?) -> Bool in left.map { held > $0 || (needsHeadroom && $0 <= .zero) } ?? false }
            if exceeds(remaining) { reasons.insert("over_project_budget") }
            if exceeds(reads.routing.userBudgetRemaining) { reasons.insert("over_user_budget") }
            if estimate.breakdown.total == nil, !project.allowUnpriced {
                // Without a price nothing can be reserved, so the request is admitted only where
                // the project accepts unpriced spend; it is shown `unpriced` then, never as $0.
                reasons.insert(SkipReason.unpriced.code)
            }
            let ordered = reasons.sorted { (Self.reasonOrder.firstIndex(of: $0) ?? Int.max) < (Self.reasonOrder.firstIndex(of: $1) ?? Int.max) }
            quoted.append(Quote.Candidate(rank: quoted.count + 1, provider: option.provider, model: modelID, estimate: estimate,
                                          admitted: ordered.isEmpty, reasons: ordered, retryAt: Self.retryAt(option.skipReasons)))
        }
        guard !quoted.isEmpty else {
            throw DomainError.validation([FieldError(field: "model", code: "no_provider",
                                                     message: "No enabled provider configuration offers \(request.kind.rawValue)"
                                                        + (request.model.map { " with model \($0)" } ?? ""))])
        }
        // The router takes the first admitted candidate in routing order, so that is the charge to show.
        let taken = quoted.first(where: \.admitted)
        let impact = Quote.BudgetImpact(scope: "project", projectID: project.id, budget: project.budget,
                                        remainingAfter: remaining.map { left in taken?.estimate.breakdown.total.map { left - $0 } ?? left },
                                        admittedCandidateRank: taken?.rank)
        return (Quote(projectID: project.id, kind: request.kind, pricingVersionID: version.id, candidates: quoted, budgets: [impact]), version)
    }

    /// The latest end of the passing reasons (an open circuit, an empty rate bucket), when there are any.
    static func retryAt(_ reasons: [SkipReason]) -> Date? {
        reasons.compactMap { reason -> Date? in
            switch reason {
            case .circuitOpen(let until), .rateLimited(let until): until
            default: nil
            }
        }.max()
    }

    /// The order reasons are listed in (the quote's order before the planner, its new reasons between).
    static let reasonOrder = ["disabled", "unknown_model", "unsupported_parameters", "no_api_key", "circuit_open", "rate_limited",
                              "over_provider_budget", "over_max_cost", "over_project_budget", "over_user_budget", "unpriced"]

    /// The request as the planner takes it. Unpriced options are reported, not dropped, so the
    /// planner does not require a price; the quote adds `unpriced` itself.
    private func routeRequest(_ request: QuoteRequest, estimate: @escaping @Sendable (ProviderID, String) -> Money?) -> RouteRequest {
        RouteRequest(kind: request.kind, prompt: request.prompt, parameters: request.parameters, provider: request.provider,
                     model: request.model, maxCost: request.maxCost, requirePrice: false, estimate: estimate)
    }

    /// The catalog, with the named model added where a provider serves it unlisted.
    private func catalog(for request: QuoteRequest) -> [ProviderCapabilities] {
        catalog().including(model: request.model, kind: request.kind, lookup: unlistedModel)
    }

    /// Providers in routing order (the catalog's order: paid providers first, the offline one last)
    /// that offer the kind, with the requested model or else each provider's first model for it.
    func candidates(for request: QuoteRequest, in catalog: [ProviderCapabilities]) -> [(ProviderID, ModelCapability)] {
        // A search in place: `models(for:)` would copy every model of the kind for each provider.
        catalog.compactMap { capabilities in
            if let wanted = request.provider, wanted != capabilities.provider { return nil }
            let kind = request.kind
            let found = if let wanted = request.model {
                capabilities.models.first { $0.kind == kind && $0.id == wanted }
            } else {
                capabilities.models.first { $0.kind == kind }
            }
            return found.map { (capabilities.provider, $0) }
        }
    }
}

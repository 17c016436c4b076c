import Foundation

/// `POST /v1/quotes`: estimates a request with every candidate provider, in routing order,
/// against the project's budget, without reserving or writing anything.
public struct QuoteService: Sendable {
    public let projects: ProjectService
    public let pricing: any PricingStore
    public let catalog: @Sendable () -> [ProviderCapabilities]
    public let tokenCounter: any TokenCounting
    /// Whether the caller holds a usable key for a provider (the vault, without decrypting).
    public let hasKey: @Sendable (AuthenticatedIdentity, ProviderID) throws -> Bool

    public init(projects: ProjectService, pricing: any PricingStore, catalog: @escaping @Sendable () -> [ProviderCapabilities],
                tokenCounter: any TokenCounting, hasKey: @escaping @Sendable (AuthenticatedIdentity, ProviderID) throws -> Bool) {
        self.projects = projects
        self.pricing = pricing
        self.catalog = catalog
        self.tokenCounter = tokenCounter
        self.hasKey = hasKey
    }

    public func quote(_ request: QuoteRequest, as identity: AuthenticatedIdentity) throws -> Quote {
        try pricedQuote(request, as: identity).quote
    }

    /// The quote with the pricing version it was priced with, for admission (which prices the
    /// actual cost with the same version later).
    public func pricedQuote(_ request: QuoteRequest, as identity: AuthenticatedIdentity) throws -> (quote: Quote, pricing: PricingVersion) {
        let errors = request.validationErrors()
        guard errors.isEmpty else { throw DomainError.validation(errors) }
        let project = try projects.get(id: request.projectID, as: identity)
        guard let version = try pricing.currentVersion() else {
            throw DomainError.unavailable(code: "pricing_unavailable", detail: "No pricing version is loaded.")
        }
        let candidates = candidates(for: request)
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
        let estimator = CostEstimator(pricing: version, tokenCounter: tokenCounter)
        let remaining = project.budget.remaining
        let needsKey = Dictionary(catalog().map { ($0.provider, $0.requiresKey) }, uniquingKeysWith: { first, _ in first })
        var quoted: [Quote.Candidate] = []
        for (index, (provider, model)) in candidates.enumerated() {
            let estimate = estimator.estimate(estimateRequest(request), provider: provider.rawValue, model: model.id)
            var reasons: [String] = []
            if !request.unsupportedParameters(for: model).isEmpty { reasons.append("unsupported_parameters") }
            if needsKey[provider] ?? true, try !hasKey(identity, provider) { reasons.append("no_api_key") }
            if let total = estimate.breakdown.total {
                if let maxCost = request.maxCost, total > maxCost { reasons.append("over_max_cost") }
                if let remaining, total > remaining { reasons.append("over_project_budget") }
            } else {
                // Without a price nothing can be reserved, so the request cannot be admitted honestly.
                reasons.append("unpriced")
            }
            quoted.append(Quote.Candidate(rank: index + 1, provider: provider, model: model.id, estimate: estimate,
                                          admitted: reasons.isEmpty, reasons: reasons))
        }
        // The router takes the first admitted candidate in routing order, so that is the charge to show.
        let taken = quoted.first(where: \.admitted)
        let impact = Quote.BudgetImpact(scope: "project", projectID: project.id, budget: project.budget,
                                        remainingAfter: remaining.map { left in taken?.estimate.breakdown.total.map { left - $0 } ?? left },
                                        admittedCandidateRank: taken?.rank)
        return (Quote(projectID: project.id, kind: request.kind, pricingVersionID: version.id, candidates: quoted, budgets: [impact]), version)
    }

    /// Providers in routing order (the catalog's order: paid providers first, the offline one last)
    /// that offer the kind, with the requested model or else each provider's first model for it.
    func candidates(for request: QuoteRequest) -> [(ProviderID, ModelCapability)] {
        catalog().compactMap { capabilities in
            if let wanted = request.provider, wanted != capabilities.provider { return nil }
            let models = capabilities.models(for: request.kind)
            if let wanted = request.model {
                return models.first { $0.id == wanted }.map { (capabilities.provider, $0) }
            }
            return models.first.map { (capabilities.provider, $0) }
        }
    }

    private func estimateRequest(_ request: QuoteRequest) -> EstimateRequest {
        switch request.kind {
        case .text:
            return .text(input: .text(request.prompt), maxOutputTokens: request.maxOutputTokens)
        case .image:
            return .images(count: request.count ?? 1, size: request.size, quality: request.quality, resolution: request.resolution)
        case .video, .imageToVideo:
            return .video(seconds: request.durationSeconds ?? 5, resolution: request.resolution, audio: request.audio, count: request.count ?? 1)
        case .audio:
            return .speech(text: request.prompt)
        }
    }
}

import Foundation

/// Chooses where a generation may run: candidates in the order to try them, and why the others
/// were skipped.
public protocol GenerationRouting: Sendable {
    /// `reusingRecentReads`: the plan may rest on reads up to `ADMISSION_READ_REUSE_MS` old
    /// (`GenerationPlan.readsReused` says when it does).
    func plan(_ request: QuoteRequest, as identity: AuthenticatedIdentity, reusingRecentReads: Bool) throws -> GenerationPlan
}

extension GenerationRouting {
    public func plan(_ request: QuoteRequest, as identity: AuthenticatedIdentity) throws -> GenerationPlan {
        try plan(request, as: identity, reusingRecentReads: false)
    }
}

public struct GenerationPlan: Sendable {
    public struct Skipped: Sendable, Equatable {
        public let provider: ProviderID
        public let model: String
        public let reasons: [String]
        /// Skipped only for a while: when it is expected to take requests again (`Quote.Candidate.retryAt`).
        public var retryAt: Date? = nil

        /// The reasons that pass by themselves: a retry after `retryAt` may find the candidate open.
        public static let passingReasons: Set<String> = ["circuit_open", "rate_limited"]

        /// Skipped for passing reasons only.
        public var onlyForAWhile: Bool { !reasons.isEmpty && Self.passingReasons.isSuperset(of: reasons) && retryAt != nil }
    }

    /// The pricing version every estimate (and later the actual cost) is priced with.
    public let pricing: PricingVersion
    public let candidates: [GenerationCandidate]
    public let skipped: [Skipped]
    public let budget: BudgetSummary?
    /// Made on reads an earlier admission made (`QuoteService.read` reusing), not on its own.
    public var readsReused = false

    public init(pricing: PricingVersion, candidates: [GenerationCandidate], skipped: [Skipped], budget: BudgetSummary?) {
        self.pricing = pricing
        self.candidates = candidates
        self.skipped = skipped
        self.budget = budget
    }
}

/// Routing by the route planner, through the quote (which the planner orders and filters:
/// provider configurations, keys, parameters, circuits, rate limits, provider budgets, max cost,
/// prices), so a quote and the generation after it agree on providers, order and models. The
/// project and user budget reasons are left to the reservation, which decides atomically on every scope.
public struct PlannedRouting: GenerationRouting {
    let quotes: QuoteService

    public init(quotes: QuoteService) {
        self.quotes = quotes
    }

    public func plan(_ request: QuoteRequest, as identity: AuthenticatedIdentity, reusingRecentReads: Bool) throws -> GenerationPlan {
        let (quote, version, reused) = try quotes.pricedQuote(request, as: identity, reusingRecentReads: reusingRecentReads)
        // A provider over its own budget is passed over for the next; only when every candidate
        // is, the reservation refuses (402 naming `provider:<id>`) rather than "no provider".
        let ledgerScopes: Set<String> = ["over_project_budget", "over_user_budget"]
        let budgetReasons = ledgerScopes.union(["over_provider_budget"])
        let withinProviderBudgets = quote.candidates.contains { Set($0.reasons).subtracting(ledgerScopes).isEmpty }
        let leftToLedger = withinProviderBudgets ? ledgerScopes : budgetReasons
        var candidates: [GenerationCandidate] = []
        var skipped: [GenerationPlan.Skipped] = []
        for candidate in quote.candidates {
            let reasons = candidate.reasons.filter { !leftToLedger.contains($0) }
            if reasons.isEmpty {
                // Without a price, the quote admits a candidate only where the project accepts
                // unpriced spend: it runs reserving nothing and is recorded `unpriced` (charged
                // the provider's reported cost if there is one), never as priced at $0.
                let total = candidate.estimate.breakdown.total
                candidates.append(GenerationCandidate(provider: candidate.provider, model: candidate.model, estimate: total ?? .zero,
                                                      unpriced: total == nil, inputTokens: candidate.estimate.inputTokens?.count))
            } else {
                skipped.append(GenerationPlan.Skipped(provider: candidate.provider, model: candidate.model, reasons: candidate.reasons,
                                                      retryAt: candidate.retryAt))
            }
        }
        var plan = GenerationPlan(pricing: version, candidates: candidates, skipped: skipped, budget: quote.budgets.first?.budget)
        plan.readsReused = reused
        return plan
    }
}

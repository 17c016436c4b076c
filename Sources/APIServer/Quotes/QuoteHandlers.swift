import Domain
import Foundation

/// `POST /v1/quotes`: decode, quote, encode. Nothing is reserved or written. A deferred route:
/// Claude's input may be counted by Anthropic's `count_tokens`, an outbound call that must not
/// hold an HTTP thread.
struct QuoteHandlers: Sendable {
    let service: QuoteService
    let authenticator: Authenticator
    let queue: WorkQueue
    let anthropic: AnthropicTokenCounts

    /// A quote reads exactly the body `POST /v1/generations` takes, through the same decoder, so
    /// the two cannot drift apart in names, checks or messages.
    func create(_ request: HTTPRequest) throws -> DeferredWork {
        let identity = try authenticator.identity(of: request)
        let (quoteRequest, _) = try GenerationHandlers.decode(request)
        let service = self.service
        let counting = QuoteTokenCounting(base: service.tokenCounter, anthropic: anthropic, identity: identity)
        return DeferredWork(queue: queue, run: {
            try .json(QuoteBody(try service.quote(quoteRequest, as: identity, counting: counting)))
        })
    }
}

private struct QuoteBody: Encodable {
    let projectId: String
    let type: String
    let pricingVersion: String
    let admitted: Bool
    let candidates: [QuoteCandidateBody]
    let budgets: [QuoteBudgetBody]

    init(_ quote: Quote) {
        projectId = quote.projectID.lowercasedString
        type = quote.kind.rawValue
        pricingVersion = quote.pricingVersionID
        admitted = quote.admitted
        candidates = quote.candidates.map(QuoteCandidateBody.init)
        budgets = quote.budgets.map(QuoteBudgetBody.init)
    }
}

private struct QuoteCandidateBody: Encodable {
    struct Line: Encodable {
        let unit: String?
        let quantity: String
        let unitPrice: String
        let per: Int
        let subtotal: String
        let estimateOnly: Bool
    }

    struct Tokens: Encodable {
        let count: Int
        let kind: String
        let countedWith: String
    }

    let rank: Int
    let provider: String
    let model: String
    let costStatus: String
    let total: String?
    let currency: String
    let basis: String
    let lines: [Line]
    let missing: [String]
    let inputTokens: Tokens?
    let maxOutputTokens: Int?
    let assumptions: [String]
    let admitted: Bool
    let reasons: [String]

    init(_ candidate: Quote.Candidate) {
        let breakdown = candidate.estimate.breakdown
        rank = candidate.rank
        provider = candidate.provider.rawValue
        model = candidate.model
        costStatus = breakdown.status.rawValue
        total = breakdown.total?.jsonString
        currency = breakdown.currency
        basis = candidate.estimate.basis.rawValue
        lines = breakdown.lines.map {
            Line(unit: $0.unit?.rawValue, quantity: $0.billedQuantity.description, unitPrice: $0.price.jsonString, per: $0.per,
                 subtotal: $0.subtotal.jsonString, estimateOnly: $0.estimateOnly)
        }
        missing = breakdown.missing.map(\.description)
        inputTokens = candidate.estimate.inputTokens.map { Tokens(count: $0.count, kind: $0.kind.rawValue, countedWith: $0.countedWith) }
        maxOutputTokens = candidate.estimate.maxOutputTokens
        assumptions = candidate.estimate.assumptions
        admitted = candidate.admitted
        reasons = candidate.reasons
    }
}

private struct QuoteBudgetBody: Encodable {
    let scope: String
    let projectId: String
    let limit: String?
    let period: String
    let spent: String
    let reserved: String
    let remaining: String?
    let remainingAfter: String?
    let admittedCandidateRank: Int?

    init(_ impact: Quote.BudgetImpact) {
        scope = impact.scope
        projectId = impact.projectID.lowercasedString
        limit = impact.budget.limit?.jsonString
        period = impact.budget.period.rawValue
        spent = impact.budget.spent.jsonString
        reserved = impact.budget.reserved.jsonString
        remaining = impact.budget.remaining?.jsonString
        remainingAfter = impact.remainingAfter?.jsonString
        admittedCandidateRank = impact.admittedCandidateRank
    }
}

import Domain
import Foundation

/// `POST /v1/quotes`: decode, quote, encode. Nothing is reserved or written.
struct QuoteHandlers: Sendable {
    let service: QuoteService
    let authenticator: Authenticator

    private struct Body: Decodable {
        struct Parameters: Decodable {
            let maxOutputTokens: Int?
            let size: String?
            let quality: String?
            let n: Int?
            let durationSeconds: Int?
            let resolution: String?
            let audio: Bool?
        }

        let projectId: String?
        let type: String?
        let prompt: String?
        let provider: String?
        let model: String?
        let parameters: Parameters?
        let maxCostUsd: String?
    }

    func create(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let body = try request.decodeBody(Body.self)
        var errors: [FieldError] = []
        let kind = body.type.flatMap(MediaKind.init(rawValue:))
        if kind == nil {
            errors.append(FieldError(field: "type", code: "invalid",
                                     message: "type must be one of \(MediaKind.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        if body.projectId == nil { errors.append(FieldError(field: "project_id", code: "required", message: "project_id is required")) }
        if body.prompt == nil { errors.append(FieldError(field: "prompt", code: "required", message: "prompt is required")) }
        let provider = body.provider.flatMap(ProviderID.init(rawValue:))
        if body.provider != nil, provider == nil {
            errors.append(FieldError(field: "provider", code: "invalid",
                                     message: "provider must be one of \(ProviderID.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        var maxCost: Money?
        if let text = body.maxCostUsd {
            do { maxCost = try Money(parsing: text) } catch { errors.append(error.fieldError("max_cost_usd")) }
        }
        guard errors.isEmpty, let kind, let projectID = body.projectId, let prompt = body.prompt else {
            throw DomainError.validation(errors)
        }
        let parameters = body.parameters
        let quote = try service.quote(QuoteRequest(
            projectID: projectID, kind: kind, prompt: prompt, provider: provider, model: body.model,
            maxOutputTokens: parameters?.maxOutputTokens, size: parameters?.size, quality: parameters?.quality,
            count: parameters?.n, durationSeconds: parameters?.durationSeconds.map { Decimal($0) },
            resolution: parameters?.resolution, audio: parameters?.audio, maxCost: maxCost), as: identity)
        return try .json(QuoteBody(quote))
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
        projectId = quote.projectID.uuidString.lowercased()
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
        projectId = impact.projectID.uuidString.lowercased()
        limit = impact.budget.limit?.jsonString
        period = impact.budget.period.rawValue
        spent = impact.budget.spent.jsonString
        reserved = impact.budget.reserved.jsonString
        remaining = impact.budget.remaining?.jsonString
        remainingAfter = impact.remainingAfter?.jsonString
        admittedCandidateRank = impact.admittedCandidateRank
    }
}

import Domain
import Foundation

/// A generation on the wire (`GET /v1/generations/{id}`, the 202 of `POST`, list items).
struct GenerationBody: Encodable {
    struct Candidate: Encodable {
        let provider: String
        let model: String
        let estimate: String
        /// Present (true) only for a model without a price.
        let unpriced: Bool?
    }

    struct Attempt: Encodable {
        let number: Int
        let provider: String
        let model: String
        let status: String
        let errorCode: String?
        let errorMessage: String?
        let httpStatus: Int?
        let retryable: Bool?
        let createdAt: String
    }

    struct Output: Encodable {
        let assetId: String
        let kind: String
        let contentType: String
        let bytes: Int64
        let sha256: String
        let url: String
    }

    struct CostLine: Encodable {
        let unit: String?
        let quantity: String
        let unitPrice: String
        let per: Int
        let subtotal: String
    }

    struct GenerationError: Encodable {
        let code: String
        let message: String
    }

    let id: String
    let projectId: String
    let type: String
    let status: String
    let prompt: String
    var parameters: GenerationSettings
    let requestedProvider: String?
    let requestedModel: String?
    let provider: String?
    let model: String?
    let candidates: [Candidate]
    let estimateUsd: String?
    let actualCostUsd: String?
    let providerReportedCostUsd: String?
    let costStatus: String?
    /// Set only when the charged usage was counted here, not reported by the provider.
    let usageCountedWith: String?
    let maxCostUsd: String?
    let pricingVersion: String
    let costLines: [CostLine]
    let error: GenerationError?
    let text: String?
    /// Why the provider stopped producing `text`, in its own words.
    let finishReason: String?
    let attempts: [Attempt]
    let outputs: [Output]
    let createdAt: String
    let updatedAt: String
    let startedAt: String?
    let finishedAt: String?
    /// The event stream with a token for `EventSource` (single generation views only).
    var eventsUrl: String?

    init(_ generation: GenerationRecord, attempts: [GenerationAttempt] = [], assets: [AssetRecord] = []) {
        id = generation.id.lowercasedString
        projectId = generation.projectID.lowercasedString
        type = generation.kind.rawValue
        status = generation.status.rawValue
        prompt = generation.prompt
        parameters = generation.settings
        // A chat generation's conversation is its `prompt` (the transcript) here, not a parameter.
        parameters.parameters.chat = nil
        requestedProvider = generation.requestedProvider?.rawValue
        requestedModel = generation.requestedModel
        provider = generation.provider?.rawValue
        model = generation.model
        candidates = generation.candidates.map { Candidate(provider: $0.provider.rawValue, model: $0.model, estimate: $0.estimate.jsonString,
                                                         unpriced: $0.isUnpriced ? true : nil) }
        estimateUsd = generation.estimate?.jsonString
        actualCostUsd = generation.actualCost?.jsonString
        providerReportedCostUsd = generation.providerReportedCost?.jsonString
        costStatus = generation.costStatus
        usageCountedWith = generation.usageCountedWith
        maxCostUsd = generation.maxCost?.jsonString
        pricingVersion = generation.pricingVersion
        costLines = generation.costBreakdown?.lines.map {
            CostLine(unit: $0.unit?.rawValue, quantity: $0.billedQuantity.description, unitPrice: $0.price.jsonString, per: $0.per,
                     subtotal: $0.subtotal.jsonString)
        } ?? []
        error = generation.errorCode.map { GenerationError(code: $0, message: generation.errorMessage ?? "") }
        text = generation.outputText
        finishReason = generation.finishReason
        self.attempts = attempts.map {
            Attempt(number: $0.number, provider: $0.provider, model: $0.model, status: $0.succeeded ? "succeeded" : "failed",
                    errorCode: $0.errorCode, errorMessage: $0.errorMessage, httpStatus: $0.httpStatus, retryable: $0.retryable,
                    createdAt: Timestamp.rfc3339($0.createdAt))
        }
        outputs = assets.map {
            let id = $0.id.lowercasedString
            return Output(assetId: id, kind: $0.kind.rawValue, contentType: $0.contentType, bytes: $0.bytes, sha256: $0.sha256,
                          url: "/v1/assets/\(id)/content")
        }
        createdAt = Timestamp.rfc3339(generation.createdAt)
        updatedAt = Timestamp.rfc3339(generation.updatedAt)
        startedAt = generation.startedAt.map(Timestamp.rfc3339)
        finishedAt = generation.finishedAt.map(Timestamp.rfc3339)
    }

    init(_ detail: GenerationDetail, eventsURL: String? = nil) {
        self.init(detail.generation, attempts: detail.attempts, assets: detail.assets)
        eventsUrl = eventsURL
    }
}

struct GenerationPageBody: Encodable {
    let data: [GenerationBody]
    let nextCursor: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(nextCursor, forKey: .nextCursor)
    }

    enum CodingKeys: String, CodingKey {
        case data
        case nextCursor = "next_cursor"
    }
}

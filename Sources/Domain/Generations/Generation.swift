import Foundation

/// Where a generation is in its lifecycle (DESIGN.md "Generation lifecycle").
public enum GenerationStatus: String, Sendable, Codable, CaseIterable {
    case queued, running, succeeded, failed, canceled, expired

    public var isTerminal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .canceled, .expired: true
        }
    }
}

/// One provider and model the generation may run on, with what it was estimated to cost there.
public struct GenerationCandidate: Sendable, Codable, Equatable {
    public let provider: ProviderID
    public let model: String
    public let estimate: Money

    public init(provider: ProviderID, model: String, estimate: Money) {
        self.provider = provider
        self.model = model
        self.estimate = estimate
    }
}

/// The request parameters a generation keeps (the same names and bounds as quotes).
public struct GenerationSettings: Sendable, Codable, Equatable {
    public var maxOutputTokens: Int?
    public var size: String?
    public var quality: String?
    public var n: Int?
    public var durationSeconds: Int?
    public var resolution: String?
    public var audio: Bool?
    /// The conversation and sampling options of a `/v1/chat/completions` request; nil otherwise.
    public var chat: ChatOptions?

    public init(maxOutputTokens: Int? = nil, size: String? = nil, quality: String? = nil, n: Int? = nil,
                durationSeconds: Int? = nil, resolution: String? = nil, audio: Bool? = nil) {
        self.maxOutputTokens = maxOutputTokens
        self.size = size
        self.quality = quality
        self.n = n
        self.durationSeconds = durationSeconds
        self.resolution = resolution
        self.audio = audio
    }

    enum CodingKeys: String, CodingKey {
        case maxOutputTokens = "max_output_tokens", size, quality, n, durationSeconds = "duration_seconds", resolution, audio
        case chat
    }

    /// The provider-neutral parameters an adapter receives.
    public var providerParameters: GenerationParameters {
        var parameters = GenerationParameters(maxOutputTokens: maxOutputTokens, size: size, quality: quality, count: n,
                                              durationSeconds: durationSeconds, resolution: resolution)
        parameters.chat = chat
        return parameters
    }
}

/// A stored generation.
public struct GenerationRecord: Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public let projectID: UUID
    public let kind: MediaKind
    public let prompt: String
    public let settings: GenerationSettings
    public let requestedProvider: ProviderID?
    public let requestedModel: String?
    public let provider: ProviderID?
    public let model: String?
    public let candidates: [GenerationCandidate]
    public let status: GenerationStatus
    public let estimate: Money?
    public let actualCost: Money?
    public let providerReportedCost: Money?
    /// The priced lines of the actual cost (a `CostBreakdown` as JSON), once succeeded.
    public let costBreakdown: CostBreakdown?
    public let maxCost: Money?
    public let pricingVersion: String
    public let errorCode: String?
    public let errorMessage: String?
    public let outputText: String?
    public let providerTask: ProviderTask?
    public let cancelRequested: Bool
    public let createdAt: Date
    public let updatedAt: Date
    public let startedAt: Date?
    public let finishedAt: Date?

    public init(id: UUID, userID: UUID, projectID: UUID, kind: MediaKind, prompt: String, settings: GenerationSettings,
                requestedProvider: ProviderID?, requestedModel: String?, provider: ProviderID?, model: String?,
                candidates: [GenerationCandidate], status: GenerationStatus, estimate: Money?, actualCost: Money?,
                providerReportedCost: Money?, costBreakdown: CostBreakdown?, maxCost: Money?, pricingVersion: String,
                errorCode: String?, errorMessage: String?, outputText: String?, providerTask: ProviderTask?,
                cancelRequested: Bool, createdAt: Date, updatedAt: Date, startedAt: Date?, finishedAt: Date?) {
        self.id = id
        self.userID = userID
        self.projectID = projectID
        self.kind = kind
        self.prompt = prompt
        self.settings = settings
        self.requestedProvider = requestedProvider
        self.requestedModel = requestedModel
        self.provider = provider
        self.model = model
        self.candidates = candidates
        self.status = status
        self.estimate = estimate
        self.actualCost = actualCost
        self.providerReportedCost = providerReportedCost
        self.costBreakdown = costBreakdown
        self.maxCost = maxCost
        self.pricingVersion = pricingVersion
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.outputText = outputText
        self.providerTask = providerTask
        self.cancelRequested = cancelRequested
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

/// One call to a provider on behalf of a generation.
public struct GenerationAttempt: Sendable, Equatable {
    public let number: Int
    public let provider: String
    public let model: String
    public let succeeded: Bool
    public let errorCode: String?
    public let errorMessage: String?
    public let httpStatus: Int?
    public let retryable: Bool?
    public let createdAt: Date

    public init(number: Int, provider: String, model: String, succeeded: Bool, errorCode: String?, errorMessage: String?,
                httpStatus: Int?, retryable: Bool?, createdAt: Date) {
        self.number = number
        self.provider = provider
        self.model = model
        self.succeeded = succeeded
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.httpStatus = httpStatus
        self.retryable = retryable
        self.createdAt = createdAt
    }
}

/// A stored file (a generation's output).
public struct AssetRecord: Sendable, Equatable {
    public let id: UUID
    public let projectID: UUID
    public let generationID: UUID?
    public let kind: MediaKind
    public let contentType: String
    public let bytes: Int64
    public let sha256: String
    public let storageKey: String
    public let createdAt: Date

    public init(id: UUID, projectID: UUID, generationID: UUID?, kind: MediaKind, contentType: String, bytes: Int64,
                sha256: String, storageKey: String, createdAt: Date) {
        self.id = id
        self.projectID = projectID
        self.generationID = generationID
        self.kind = kind
        self.contentType = contentType
        self.bytes = bytes
        self.sha256 = sha256
        self.storageKey = storageKey
        self.createdAt = createdAt
    }
}

/// A generation with its attempts and outputs, as `GET /v1/generations/{id}` shows it.
public struct GenerationDetail: Sendable, Equatable {
    public let generation: GenerationRecord
    public let attempts: [GenerationAttempt]
    public let assets: [AssetRecord]

    public init(generation: GenerationRecord, attempts: [GenerationAttempt], assets: [AssetRecord]) {
        self.generation = generation
        self.attempts = attempts
        self.assets = assets
    }
}

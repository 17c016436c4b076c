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
    /// Admitted without a price (the project accepts unpriced spend): `estimate` is zero and
    /// reserves nothing; the charge is the provider's reported cost, if it reports one.
    public let unpriced: Bool?
    /// Text: the input tokens admission counted for this candidate (its estimate's), what a call
    /// that breaks before the provider reports its usage is charged for its input.
    public let inputTokens: Int?

    public init(provider: ProviderID, model: String, estimate: Money, unpriced: Bool = false, inputTokens: Int? = nil) {
        self.provider = provider
        self.model = model
        self.estimate = estimate
        self.unpriced = unpriced ? true : nil
        self.inputTokens = inputTokens
    }

    public var isUnpriced: Bool { unpriced == true }
}

/// A synchronous submission that may be in flight: sent (or about to be) to this provider and
/// model, its answer not recorded yet. Found on a generation whose process died, it means the
/// provider may have billed: the generation is never submitted again.
public struct InFlightSubmission: Sendable, Codable, Equatable {
    public let provider: ProviderID
    public let model: String

    public init(provider: ProviderID, model: String) {
        self.provider = provider
        self.model = model
    }
}

/// The request parameters a generation keeps, in the catalog's vocabulary (`GET /v1/providers`):
/// the same names, bounds and values as quotes. Stored and shown keyed by those names.
public struct GenerationSettings: Sendable, Codable, Equatable {
    public var parameters: GenerationParameters

    public init(parameters: GenerationParameters) {
        self.parameters = parameters
    }

    public init(maxOutputTokens: Int? = nil, size: String? = nil, quality: String? = nil, count: Int? = nil,
                durationSeconds: Int? = nil, resolution: String? = nil, audio: Bool? = nil) {
        parameters = GenerationParameters(maxOutputTokens: maxOutputTokens, size: size, quality: quality, count: count,
                                          durationSeconds: durationSeconds, resolution: resolution, audio: audio)
    }

    /// The provider-neutral parameters an adapter receives.
    public var providerParameters: GenerationParameters { parameters }

    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Generations stored before the catalog's names were used kept the image count as `n`.
    private static let legacyCountKey = Key(stringValue: "n")
    /// The conversation of a `/v1/chat/completions` request, kept beside the catalog's parameters.
    private static let chatKey = Key(stringValue: "chat")

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        var parameters = GenerationParameters()
        for name in ParameterName.allCases {
            let key = Key(stringValue: name.rawValue)
            guard container.contains(key), try !container.decodeNil(forKey: key) else { continue }
            if let text = try? container.decode(String.self, forKey: key) {
                parameters.set(name, to: .string(text))
            } else if let flag = try? container.decode(Bool.self, forKey: key) {
                parameters.set(name, to: .boolean(flag))
            } else if let number = try? container.decode(Int.self, forKey: key) {
                parameters.set(name, to: .integer(number))
            } else if let number = try? container.decode(Decimal.self, forKey: key) {
                parameters.set(name, to: .decimal(number))
            }
        }
        if parameters.count == nil, let count = try container.decodeIfPresent(Int.self, forKey: Self.legacyCountKey) {
            parameters.count = count
        }
        parameters.chat = try container.decodeIfPresent(ChatOptions.self, forKey: Self.chatKey)
        self.parameters = parameters
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for name in ParameterName.allCases {
            let key = Key(stringValue: name.rawValue)
            switch parameters.value(of: name) {
            case .string(let text): try container.encode(text, forKey: key)
            case .integer(let number): try container.encode(number, forKey: key)
            case .decimal(let number): try container.encode(number, forKey: key)
            case .boolean(let flag): try container.encode(flag, forKey: key)
            case .other, nil: continue
            }
        }
        try container.encodeIfPresent(parameters.chat, forKey: Self.chatKey)
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
    /// Set while a synchronous submission may be in flight (see `InFlightSubmission`).
    public let submitting: InFlightSubmission?
    /// How `actualCost` came about: `priced`, `unpriced` (the provider's reported cost, or none)
    /// or `estimated` (the reserved estimate, charged because the outcome is unknown).
    public let costStatus: String?
    /// Why the provider stopped producing text, in its own words (OpenAI `stop`, `length`,
    /// `content_filter`; Anthropic `end_turn`, `max_tokens`, `stop_sequence`, `refusal`); nil
    /// when there was no text result or the provider named none.
    public let finishReason: String?
    /// The tokenizer this API counted the charged usage's output tokens with, when the provider
    /// never reported its usage (a stream that broke before its final chunk); nil: the usage is
    /// the provider's own.
    public let usageCountedWith: String?
    /// On the record admission returns only (never stored): its first attempt, cleared in
    /// admission's own call, so the runner's first step reads nothing (see `FirstAttemptClearance`).
    public var firstAttempt: FirstAttemptClearance?

    public init(id: UUID, userID: UUID, projectID: UUID, kind: MediaKind, prompt: String, settings: GenerationSettings,
                requestedProvider: ProviderID?, requestedModel: String?, provider: ProviderID?, model: String?,
                candidates: [GenerationCandidate], status: GenerationStatus, estimate: Money?, actualCost: Money?,
                providerReportedCost: Money?, costBreakdown: CostBreakdown?, maxCost: Money?, pricingVersion: String,
                errorCode: String?, errorMessage: String?, outputText: String?, providerTask: ProviderTask?,
                cancelRequested: Bool, createdAt: Date, updatedAt: Date, startedAt: Date?, finishedAt: Date?,
                submitting: InFlightSubmission? = nil, costStatus: String? = nil, finishReason: String? = nil,
                usageCountedWith: String? = nil) {
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
        self.submitting = submitting
        self.costStatus = costStatus
        self.finishReason = finishReason
        self.usageCountedWith = usageCountedWith
    }

    /// Canceled while the provider held work it may bill (a submission in flight, or a task whose
    /// cancel has not said what it came to): that charge is still to be recorded on this
    /// generation, so an answer given now must not tell the client nothing was charged. The
    /// database's `finish_generation` charges such a generation by the same rule.
    public var chargeMayFollow: Bool {
        status == .canceled && costStatus == nil && (submitting != nil || providerTask != nil)
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

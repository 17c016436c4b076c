import Foundation

/// The provider port: one adapter per provider behind it.
///
/// The calls a generation step makes (`submit`, `poll`, `cancel`) are `async`: the caller is
/// suspended, holding no thread, while the provider works (the HTTP transfers run on libcurl's
/// multi interface). The short calls (`validateKey`, `healthCheck`, `countInputTokens`, `voices`)
/// stay synchronous and block their caller, which runs them on a bounded deferred work queue.
/// Keys are passed per call and never stored in an adapter; the local provider accepts `nil`.
/// Every method throws only `ProviderError`.
public protocol MediaProvider: Sendable {
    var id: ProviderID { get }

    /// Models and parameters on offer now (the local provider's depend on the tools installed).
    func capabilities() -> ProviderCapabilities

    /// The provider's free key check; account facts (balance, quota) when the provider gives them.
    /// Throws `.invalidKey` for a key the provider rejects.
    func validateKey(_ key: ProviderAPIKey?) throws(ProviderError) -> KeyValidation

    /// A cheap reachability check. Never throws: a failure is a `.down` health.
    func healthCheck(key: ProviderAPIKey?) -> ProviderHealth

    /// Starts a generation: the finished output for synchronous APIs, a pending task otherwise.
    func submit(_ request: GenerationRequest, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult

    /// `submit` for a text generation whose reader wants the answer as it arrives: each piece
    /// goes to `sink`, and the result is what `submit` returns. Default: `submit`, then the whole
    /// text as one piece (TextDeltaSink.swift).
    func submitStreaming(_ request: GenerationRequest, key: ProviderAPIKey?, sink: TextDeltaSink) async throws(ProviderError) -> ProviderResult

    /// Asks once about a pending task; `.finished` once its outputs are downloaded.
    func poll(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult

    func cancel(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> CancelOutcome

    /// Input tokens the request would use, where the provider counts them for free
    /// (Anthropic `count_tokens`); nil where it does not.
    func countInputTokens(_ request: GenerationRequest, key: ProviderAPIKey?) throws(ProviderError) -> Int?

    /// Voices the key can use, for speech providers with per-account voices (ElevenLabs).
    func voices(key: ProviderAPIKey?) throws(ProviderError) -> [VoiceOption]

    /// See the extension: adapters that accept ids they do not list answer for those too.
    func capability(for model: String, kind: MediaKind) -> ModelCapability?
}

extension MediaProvider {
    /// The capability for one model and kind: listed in `capabilities()`, or, for providers that
    /// route any model id (OpenRouter, FAL's queue), one built for the id. Nil when not offered.
    public func capability(for model: String, kind: MediaKind) -> ModelCapability? {
        capabilities().model(model, kind: kind)
    }

    public func countInputTokens(_ request: GenerationRequest, key: ProviderAPIKey?) throws(ProviderError) -> Int? {
        nil
    }

    /// By default, the voices the catalog lists for the provider's speech models.
    public func voices(key: ProviderAPIKey?) throws(ProviderError) -> [VoiceOption] {
        var seen = Set<String>()
        var voices: [VoiceOption] = []
        for model in capabilities().models(for: .audio) {
            guard case let .oneOf(names)? = model.parameter(.voice)?.allowed else { continue }
            for name in names where seen.insert(name).inserted {
                voices.append(VoiceOption(id: name, name: name))
            }
        }
        return voices
    }
}

/// What a provider's cancel came to, as far as its billing depends on it (`CanceledTaskCharge`).
public enum CancelOutcome: String, Sendable, Codable, Equatable {
    /// The provider accepted the cancellation (it may still take a moment to stop).
    case cancelled
    /// The task had not started: the provider took it off its queue, so it never runs.
    case removedFromQueue
    /// The task had started: the provider signalled the worker running it to stop, which it may
    /// do late or not at all, so the work may be billed.
    case stopRequested
    /// Too late: the task already finished; poll it for the result.
    case alreadyFinished
    /// The provider has no cancel operation for this kind of task; stop polling instead.
    case notSupported
}

/// The result of a successful key check.
public struct KeyValidation: Sendable, Codable, Equatable {
    public let provider: ProviderID
    /// What was called, e.g. `GET /v1/models`, so the key-test endpoint can say what it checked.
    public let checkedWith: String
    public let account: AccountSummary?

    public init(provider: ProviderID, checkedWith: String, account: AccountSummary? = nil) {
        self.provider = provider
        self.checkedWith = checkedWith
        self.account = account
    }
}

/// Account facts some providers return with the key check. Amounts are exact decimals in
/// `unit` (`usd`, `credits`, `characters`).
public struct AccountSummary: Sendable, Codable, Equatable {
    public var label: String?
    public var tier: String?
    public var unit: String?
    public var limit: Decimal?
    public var used: Decimal?
    public var remaining: Decimal?
    public var resetsAt: Date?

    public init(label: String? = nil, tier: String? = nil, unit: String? = nil, limit: Decimal? = nil,
                used: Decimal? = nil, remaining: Decimal? = nil, resetsAt: Date? = nil) {
        self.label = label
        self.tier = tier
        self.unit = unit
        self.limit = limit
        self.used = used
        self.remaining = remaining
        self.resetsAt = resetsAt
    }
}

public struct ProviderHealth: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case up
        /// Answering, but rate limiting or failing some calls.
        case degraded
        case down
    }

    public let provider: ProviderID
    public let status: Status
    public let latencyMilliseconds: Int?
    public let detail: String?

    public init(provider: ProviderID, status: Status, latencyMilliseconds: Int? = nil, detail: String? = nil) {
        self.provider = provider
        self.status = status
        self.latencyMilliseconds = latencyMilliseconds
        self.detail = detail
    }
}

public struct VoiceOption: Sendable, Codable, Equatable {
    public let id: String
    public let name: String
    public let category: String?
    public let labels: [String: String]
    public let previewURL: String?

    public init(id: String, name: String, category: String? = nil, labels: [String: String] = [:], previewURL: String? = nil) {
        self.id = id
        self.name = name
        self.category = category
        self.labels = labels
        self.previewURL = previewURL
    }
}

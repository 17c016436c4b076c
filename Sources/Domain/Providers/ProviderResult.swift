import Foundation

/// What `submit` and `poll` answer: the finished output, or a task still running at the provider.
public enum ProviderResult: Sendable, Codable, Equatable {
    case finished(GenerationOutput)
    case pending(ProviderTask)
}

/// A generation still running at the provider. Everything needed to poll, cancel and finish it
/// is in here and it is `Codable`, so the worker persists it before the first poll and a
/// restarted worker resumes polling instead of submitting (and paying) twice.
public struct ProviderTask: Sendable, Codable, Equatable {
    public let provider: ProviderID
    /// The provider's own id: a Runway task id, a Gemini operation name, a FAL request id.
    public let id: String
    public let kind: MediaKind
    public let model: String
    public let submittedAt: Date
    /// How long to wait before the next poll, from the provider's documented cadence.
    public var pollAfterSeconds: Double
    /// URLs the provider returned at submit time (FAL's status/response/cancel URLs).
    public let urls: [String: String]
    public let outputDirectory: String
    /// Request facts needed to normalise usage when the task finishes (duration, ratio, size).
    public let context: [String: String]
    /// The provider's last reported state (`RUNNING`, `IN_QUEUE`, ...), for progress display.
    public var providerStatus: String?
    /// 0...1 when the provider reports progress.
    public var progress: Double?

    public init(provider: ProviderID, id: String, kind: MediaKind, model: String, submittedAt: Date = Date(),
                pollAfterSeconds: Double, urls: [String: String] = [:], outputDirectory: String,
                context: [String: String] = [:], providerStatus: String? = nil, progress: Double? = nil) {
        self.provider = provider
        self.id = id
        self.kind = kind
        self.model = model
        self.submittedAt = submittedAt
        self.pollAfterSeconds = pollAfterSeconds
        self.urls = urls
        self.outputDirectory = outputDirectory
        self.context = context
        self.providerStatus = providerStatus
        self.progress = progress
    }
}

/// A finished generation: text or files, with normalised usage for cost calculation.
public struct GenerationOutput: Sendable, Codable, Equatable {
    public let provider: ProviderID
    /// The model as the provider reports it (often a dated snapshot of the requested id).
    public let model: String
    public let kind: MediaKind
    public let text: String?
    public let files: [OutputFile]
    public let usage: NormalisedUsage
    /// The provider's request or task id, for support tickets and reconciliation.
    public let providerRequestID: String?
    public let finishReason: String?
    /// True when no provider was called (the local provider); the result cost nothing.
    public let isOffline: Bool
    /// Facts worth showing a user that are not errors (`nsfw_filtered`, `truncated`, ...).
    public let notes: [String]
    /// The provider's rate-limit headers from the answer (`x-ratelimit-*`,
    /// `anthropic-ratelimit-*`), names lowercased, for the router's rate-limit view.
    public let rateLimits: [String: String]

    public init(provider: ProviderID, model: String, kind: MediaKind, text: String? = nil, files: [OutputFile] = [],
                usage: NormalisedUsage, providerRequestID: String? = nil, finishReason: String? = nil,
                isOffline: Bool = false, notes: [String] = [], rateLimits: [String: String] = [:]) {
        self.provider = provider
        self.model = model
        self.kind = kind
        self.text = text
        self.files = files
        self.usage = usage
        self.providerRequestID = providerRequestID
        self.finishReason = finishReason
        self.isOffline = isOffline
        self.notes = notes
        self.rateLimits = rateLimits
    }
}

public struct OutputFile: Sendable, Codable, Equatable {
    public let path: String
    public let mimeType: String
    public let byteCount: Int64
    public let width: Int?
    public let height: Int?
    public let durationSeconds: Double?

    public init(path: String, mimeType: String, byteCount: Int64, width: Int? = nil, height: Int? = nil,
                durationSeconds: Double? = nil) {
        self.path = path
        self.mimeType = mimeType
        self.byteCount = byteCount
        self.width = width
        self.height = height
        self.durationSeconds = durationSeconds
    }
}

import Foundation

/// The body of a future generation, quoted without side effects.
public struct QuoteRequest: Sendable {
    public var projectID: String
    public var kind: MediaKind
    public var prompt: String
    public var provider: ProviderID?
    public var model: String?
    public var maxOutputTokens: Int?
    public var size: String?
    public var quality: String?
    public var count: Int?
    public var durationSeconds: Decimal?
    public var resolution: String?
    public var audio: Bool?
    public var maxCost: Money?

    public init(projectID: String, kind: MediaKind, prompt: String, provider: ProviderID? = nil, model: String? = nil,
                maxOutputTokens: Int? = nil, size: String? = nil, quality: String? = nil, count: Int? = nil,
                durationSeconds: Decimal? = nil, resolution: String? = nil, audio: Bool? = nil, maxCost: Money? = nil) {
        self.projectID = projectID
        self.kind = kind
        self.prompt = prompt
        self.provider = provider
        self.model = model
        self.maxOutputTokens = maxOutputTokens
        self.size = size
        self.quality = quality
        self.count = count
        self.durationSeconds = durationSeconds
        self.resolution = resolution
        self.audio = audio
        self.maxCost = maxCost
    }

    /// Limits that keep a quote cheap to compute and its numbers meaningful.
    public static let maximumPromptCharacters = 200_000

    func validationErrors() -> [FieldError] {
        var errors: [FieldError] = []
        if prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            errors.append(FieldError(field: "prompt", code: "required", message: "prompt must not be empty"))
        } else if prompt.count > Self.maximumPromptCharacters {
            errors.append(FieldError(field: "prompt", code: "too_long", message: "prompt is longer than \(Self.maximumPromptCharacters) characters"))
        }
        if let maxOutputTokens, !(1...1_000_000).contains(maxOutputTokens) {
            errors.append(FieldError(field: "parameters.max_output_tokens", code: "out_of_range", message: "max_output_tokens must be 1 to 1,000,000"))
        }
        if let count, !(1...16).contains(count) {
            errors.append(FieldError(field: "parameters.n", code: "out_of_range", message: "n must be 1 to 16"))
        }
        if let durationSeconds, durationSeconds <= 0 || durationSeconds > 600 {
            errors.append(FieldError(field: "parameters.duration_seconds", code: "out_of_range", message: "duration_seconds must be more than 0 and at most 600"))
        }
        return errors
    }
}

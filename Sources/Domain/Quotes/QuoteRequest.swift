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

    /// Limits that keep a quote cheap to compute and its numbers meaningful (documented in openapi.yaml).
    /// Text is counted in Unicode scalars, as everywhere else in the API.
    public static let maximumPromptCharacters = 200_000
    public static let maximumOutputTokens = 1_000_000
    public static let maximumCount = 16
    public static let maximumDurationSeconds = 600
    public static let maximumModelCharacters = 200
    /// `size`, `quality` and `resolution` are short tokens (`1024x1024`, `high`, `1080p`).
    public static let maximumOptionCharacters = 32

    func validationErrors() -> [FieldError] {
        var errors: [FieldError] = []
        if prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            errors.append(FieldError(field: "prompt", code: "required", message: "prompt must not be empty"))
        } else if prompt.unicodeScalars.count > Self.maximumPromptCharacters {
            errors.append(FieldError(field: "prompt", code: "too_long", message: "prompt is longer than \(Self.maximumPromptCharacters) characters"))
        }
        if let model, model.isEmpty || model.unicodeScalars.count > Self.maximumModelCharacters {
            errors.append(FieldError(field: "model", code: "invalid_length", message: "model must be 1 to \(Self.maximumModelCharacters) characters"))
        }
        if let maxOutputTokens, !(1...Self.maximumOutputTokens).contains(maxOutputTokens) {
            errors.append(FieldError(field: "parameters.max_output_tokens", code: "out_of_range",
                                     message: "max_output_tokens must be 1 to \(Self.maximumOutputTokens)"))
        }
        if let count, !(1...Self.maximumCount).contains(count) {
            errors.append(FieldError(field: "parameters.n", code: "out_of_range", message: "n must be 1 to \(Self.maximumCount)"))
        }
        if let durationSeconds, durationSeconds <= 0 || durationSeconds > Decimal(Self.maximumDurationSeconds) {
            errors.append(FieldError(field: "parameters.duration_seconds", code: "out_of_range",
                                     message: "duration_seconds must be more than 0 and at most \(Self.maximumDurationSeconds)"))
        }
        for (field, value) in [("size", size), ("quality", quality), ("resolution", resolution)] {
            guard let value else { continue }
            if value.isEmpty || value.unicodeScalars.count > Self.maximumOptionCharacters {
                errors.append(FieldError(field: "parameters.\(field)", code: "invalid_length",
                                         message: "\(field) must be 1 to \(Self.maximumOptionCharacters) characters"))
            }
        }
        if let size, size.unicodeScalars.count <= Self.maximumOptionCharacters, Self.namesPixels(size), CostEstimator.pixels(of: size) == nil {
            errors.append(FieldError(field: "parameters.size", code: "out_of_range",
                                     message: "size WIDTHxHEIGHT must have each side 1 to \(CostEstimator.maximumSidePixels) pixels"))
        }
        return errors
    }

    /// True for `digitsXdigits`, the form whose numbers must be in range (presets are checked per model).
    static func namesPixels(_ size: String) -> Bool {
        let parts = size.split(separator: "x", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }
}

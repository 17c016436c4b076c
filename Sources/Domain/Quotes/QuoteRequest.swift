import Foundation

/// The body of a future generation, quoted without side effects.
public struct QuoteRequest: Sendable {
    public var projectID: String
    public var kind: MediaKind
    public var prompt: String
    public var provider: ProviderID?
    public var model: String?
    /// In the catalog's vocabulary (`GET /v1/providers`): the same names, checked against the
    /// same allowed values, with the chosen model's defaults filled in before pricing.
    public var parameters: GenerationParameters
    public var maxCost: Money?

    public init(projectID: String, kind: MediaKind, prompt: String, provider: ProviderID? = nil, model: String? = nil,
                parameters: GenerationParameters, maxCost: Money? = nil) {
        self.projectID = projectID
        self.kind = kind
        self.prompt = prompt
        self.provider = provider
        self.model = model
        self.parameters = parameters
        self.maxCost = maxCost
    }

    public init(projectID: String, kind: MediaKind, prompt: String, provider: ProviderID? = nil, model: String? = nil,
                maxOutputTokens: Int? = nil, size: String? = nil, quality: String? = nil, count: Int? = nil,
                durationSeconds: Int? = nil, resolution: String? = nil, audio: Bool? = nil, maxCost: Money? = nil) {
        self.init(projectID: projectID, kind: kind, prompt: prompt, provider: provider, model: model,
                  parameters: GenerationParameters(maxOutputTokens: maxOutputTokens, size: size, quality: quality, count: count,
                                                   durationSeconds: durationSeconds, resolution: resolution, audio: audio),
                  maxCost: maxCost)
    }

    /// Limits that keep a quote cheap to compute and its numbers meaningful (documented in openapi.yaml).
    /// Text is counted in Unicode scalars, as everywhere else in the API. Each bound is at least
    /// as wide as any model's in the catalog, so a value a model allows is never refused here.
    public static let maximumPromptCharacters = 200_000
    public static let maximumOutputTokens = 1_000_000
    public static let maximumCount = 16
    public static let maximumDurationSeconds = 600
    public static let maximumModelCharacters = 200
    /// `size`, `quality`, `resolution`, `aspect_ratio` and `output_format` are short tokens
    /// (`1024x1024`, `high`, `1080p`, `16:9`, `mp3_44100_128`).
    public static let maximumOptionCharacters = 32
    public static let maximumVoiceCharacters = 64
    public static let maximumSystemPromptCharacters = 400_000
    public static let maximumNegativePromptCharacters = 2_500
    public static let maximumSeed = 4_294_967_295
    public static let maximumTemperature: Decimal = 2
    public static let speedRange: ClosedRange<Decimal> = Decimal(25) / 100 ... 4

    func validationErrors() -> [FieldError] {
        var errors: [FieldError] = []
        if prompt.consists(of: .whitespacesAndNewlines) {
            errors.append(FieldError(field: "prompt", code: "required", message: "prompt must not be empty"))
        } else if prompt.unicodeScalars.count > Self.maximumPromptCharacters {
            errors.append(FieldError(field: "prompt", code: "too_long", message: "prompt is longer than \(Self.maximumPromptCharacters) characters"))
        }
        if let model, model.isEmpty || model.unicodeScalars.count > Self.maximumModelCharacters {
            errors.append(FieldError(field: "model", code: "invalid_length", message: "model must be 1 to \(Self.maximumModelCharacters) characters"))
        }
        let parameters = self.parameters
        // The words are written only for a value out of range (every request checks every bound).
        func range<T: Comparable>(_ name: ParameterName, _ value: T?, _ bounds: ClosedRange<T>, _ words: @autoclosure () -> String) {
            guard let value, !bounds.contains(value) else { return }
            errors.append(FieldError(field: "parameters.\(name.rawValue)", code: "out_of_range", message: "\(name.rawValue) must be \(words())"))
        }
        range(.maxOutputTokens, parameters.maxOutputTokens, 1...Self.maximumOutputTokens, "1 to \(Self.maximumOutputTokens)")
        range(.count, parameters.count, 1...Self.maximumCount, "1 to \(Self.maximumCount)")
        range(.durationSeconds, parameters.durationSeconds, 1...Self.maximumDurationSeconds, "1 to \(Self.maximumDurationSeconds)")
        range(.seed, parameters.seed, 0...Self.maximumSeed, "0 to \(Self.maximumSeed)")
        range(.temperature, parameters.temperature, 0...Self.maximumTemperature, "0 to \(Self.maximumTemperature)")
        range(.speed, parameters.speed, Self.speedRange, "\(Self.speedRange.lowerBound) to \(Self.speedRange.upperBound)")
        let texts: [(ParameterName, String?, Int)] = [
            (.size, parameters.size, Self.maximumOptionCharacters), (.quality, parameters.quality, Self.maximumOptionCharacters),
            (.resolution, parameters.resolution, Self.maximumOptionCharacters),
            (.aspectRatio, parameters.aspectRatio, Self.maximumOptionCharacters),
            (.outputFormat, parameters.outputFormat, Self.maximumOptionCharacters), (.voice, parameters.voice, Self.maximumVoiceCharacters),
            (.systemPrompt, parameters.systemPrompt, Self.maximumSystemPromptCharacters),
            (.negativePrompt, parameters.negativePrompt, Self.maximumNegativePromptCharacters),
        ]
        for (name, value, maximum) in texts {
            guard let value else { continue }
            let minimum = name == .systemPrompt || name == .negativePrompt ? 0 : 1
            if !(minimum...maximum).contains(value.unicodeScalars.count) {
                errors.append(FieldError(field: "parameters.\(name.rawValue)", code: "invalid_length",
                                         message: "\(name.rawValue) must be \(minimum) to \(maximum) characters"))
            }
        }
        if let size = parameters.size, size.unicodeScalars.count <= Self.maximumOptionCharacters, Self.namesPixels(size),
           CostEstimator.pixels(of: size) == nil {
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

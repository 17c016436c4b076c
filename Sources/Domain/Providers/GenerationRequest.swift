import Foundation

/// A provider-neutral generation request. Which parameters apply depends on the model; see
/// `ModelCapability.parameters` and `ModelCapability.validate(_:)`.
public struct GenerationRequest: Sendable, Codable, Equatable {
    public var kind: MediaKind
    public var model: String
    public var prompt: String
    public var parameters: GenerationParameters
    /// Where binary outputs (images, audio, video) are written. Adapters create files here and
    /// report their paths; moving them into the object store is the caller's job.
    public var outputDirectory: String

    public init(kind: MediaKind, model: String, prompt: String,
                parameters: GenerationParameters = GenerationParameters(), outputDirectory: String) {
        self.kind = kind
        self.model = model
        self.prompt = prompt
        self.parameters = parameters
        self.outputDirectory = outputDirectory
    }
}

public struct GenerationParameters: Sendable, Codable, Equatable {
    public var systemPrompt: String?
    public var maxOutputTokens: Int?
    public var temperature: Decimal?
    /// `WIDTHxHEIGHT` (`1024x1536`) or a provider's named size where it has only names.
    public var size: String?
    public var quality: String?
    /// Number of outputs (images, video samples).
    public var count: Int?
    public var durationSeconds: Int?
    /// `720p`, `1080p`, `4k`.
    public var resolution: String?
    /// `16:9`, or a provider's pixel ratio such as Runway's `1280:720`.
    public var aspectRatio: String?
    public var voice: String?
    public var voiceSettings: VoiceSettings?
    public var speed: Decimal?
    /// `png`, `mp3`, `wav`, or a provider's own format name such as `mp3_44100_128`.
    public var outputFormat: String?
    public var seed: Int?
    public var negativePrompt: String?
    public var inputImage: ImageReference?
    /// A whole conversation (`/v1/chat/completions`): text adapters send these messages instead of `prompt`.
    public var chat: ChatOptions? = nil
    /// Video with sound, where the model lets the caller choose (and the price depends on it).
    public var audio: Bool?

    public init(systemPrompt: String? = nil, maxOutputTokens: Int? = nil, temperature: Decimal? = nil,
                size: String? = nil, quality: String? = nil, count: Int? = nil, durationSeconds: Int? = nil,
                resolution: String? = nil, aspectRatio: String? = nil, voice: String? = nil,
                voiceSettings: VoiceSettings? = nil, speed: Decimal? = nil, outputFormat: String? = nil,
                seed: Int? = nil, negativePrompt: String? = nil, inputImage: ImageReference? = nil, audio: Bool? = nil) {
        self.systemPrompt = systemPrompt
        self.maxOutputTokens = maxOutputTokens
        self.temperature = temperature
        self.size = size
        self.quality = quality
        self.count = count
        self.durationSeconds = durationSeconds
        self.resolution = resolution
        self.aspectRatio = aspectRatio
        self.voice = voice
        self.voiceSettings = voiceSettings
        self.speed = speed
        self.outputFormat = outputFormat
        self.seed = seed
        self.negativePrompt = negativePrompt
        self.inputImage = inputImage
        self.audio = audio
    }

    /// The names of the parameters that are set, for validation against a model's capability.
    public var setNames: [ParameterName] {
        var names: [ParameterName] = []
        if systemPrompt != nil { names.append(.systemPrompt) }
        if maxOutputTokens != nil { names.append(.maxOutputTokens) }
        if temperature != nil { names.append(.temperature) }
        if size != nil { names.append(.size) }
        if quality != nil { names.append(.quality) }
        if count != nil { names.append(.count) }
        if durationSeconds != nil { names.append(.durationSeconds) }
        if resolution != nil { names.append(.resolution) }
        if aspectRatio != nil { names.append(.aspectRatio) }
        if voice != nil { names.append(.voice) }
        if voiceSettings != nil { names.append(.voiceSettings) }
        if speed != nil { names.append(.speed) }
        if outputFormat != nil { names.append(.outputFormat) }
        if seed != nil { names.append(.seed) }
        if negativePrompt != nil { names.append(.negativePrompt) }
        if inputImage != nil { names.append(.inputImage) }
        if audio != nil { names.append(.audio) }
        return names
    }
}

/// An input image: a URL the provider can fetch itself (`https://…` or a `data:` URI), or a
/// local file that adapters upload inline (as base64) where the provider needs bytes.
public enum ImageReference: Sendable, Codable, Equatable {
    case url(String)
    case file(path: String, mimeType: String)
}

/// ElevenLabs-style voice settings (providers.md §4.1); other speech providers ignore them.
public struct VoiceSettings: Sendable, Codable, Equatable {
    public var stability: Decimal?
    public var similarityBoost: Decimal?
    public var style: Decimal?
    public var useSpeakerBoost: Bool?
    public var speed: Decimal?

    public init(stability: Decimal? = nil, similarityBoost: Decimal? = nil, style: Decimal? = nil,
                useSpeakerBoost: Bool? = nil, speed: Decimal? = nil) {
        self.stability = stability
        self.similarityBoost = similarityBoost
        self.style = style
        self.useSpeakerBoost = useSpeakerBoost
        self.speed = speed
    }
}

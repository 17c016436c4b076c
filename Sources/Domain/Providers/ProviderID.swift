import Foundation

/// The providers the workspace can route to. The raw value is the stable identifier used in
/// configuration, the database and the public API (`GET /v1/providers`).
public enum ProviderID: String, Sendable, Codable, CaseIterable, Hashable {
    case openai
    case anthropic
    case openrouter
    case elevenlabs
    case runway
    case veo
    case fal
    /// The offline provider: no key, no network, no cost.
    case local

    public var displayName: String {
        switch self {
        case .openai: "OpenAI"
        case .anthropic: "Anthropic"
        case .openrouter: "OpenRouter"
        case .elevenlabs: "ElevenLabs"
        case .runway: "Runway"
        case .veo: "Google Veo (Gemini API)"
        case .fal: "fal.ai"
        case .local: "Local (offline)"
        }
    }

    // A raw-value enum otherwise takes the standard library's `RawRepresentable` defaults, which hash
    // and compare its `rawValue`: a string hashed for each of the fifty-odd lookups of providers
    // one generation's routing and pricing make. The case itself says the same.
    public static func == (lhs: ProviderID, rhs: ProviderID) -> Bool { lhs.ordinal == rhs.ordinal }

    public func hash(into hasher: inout Hasher) { hasher.combine(ordinal) }

    private var ordinal: UInt8 {
        switch self {
        case .openai: 0
        case .anthropic: 1
        case .openrouter: 2
        case .elevenlabs: 3
        case .runway: 4
        case .veo: 5
        case .fal: 6
        case .local: 7
        }
    }
}

/// What a generation produces. `imageToVideo` is separate from `video` because it needs an input
/// image and is offered by different models.
public enum MediaKind: String, Sendable, Codable, CaseIterable, Hashable {
    case text
    case image
    case video
    case audio
    case imageToVideo = "image_to_video"
}

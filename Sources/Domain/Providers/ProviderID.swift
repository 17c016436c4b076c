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

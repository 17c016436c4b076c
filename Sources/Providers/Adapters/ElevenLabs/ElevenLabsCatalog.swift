import Domain
import Foundation

/// ElevenLabs speech models and output formats (providers.md §4.1). Voices are per account, so
/// `voice` takes any voice id; `voices(key:)` lists the account's.
enum ElevenLabsCatalog {
    static let outputFormats = [
        "mp3_22050_32", "mp3_24000_48", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128", "mp3_44100_192",
        "opus_48000_32", "opus_48000_64", "opus_48000_96", "opus_48000_128", "opus_48000_192",
        "pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_32000", "pcm_44100", "pcm_48000",
        "wav_8000", "wav_16000", "wav_22050", "wav_24000", "wav_32000", "wav_44100", "wav_48000",
        "ulaw_8000", "alaw_8000",
    ]
    static let defaultFormat = "mp3_44100_128"

    static let capabilities = ProviderCapabilities(
        provider: .elevenlabs,
        models: ["eleven_multilingual_v2", "eleven_v3", "eleven_flash_v2_5", "eleven_turbo_v2_5"].map(model),
        notes: ["voices are per account: list them with the key; without a voice the account's first voice is used"])

    static func model(_ id: String) -> ModelCapability {
        ModelCapability(id: id, kind: .audio, parameters: [
            ParameterSpec(.voice, .text(maxLength: 64)),
            ParameterSpec(.voiceSettings, .voiceSettings),
            ParameterSpec(.outputFormat, .oneOf(outputFormats), default: defaultFormat),
            ParameterSpec(.seed, .integerRange(min: 0, max: 4_294_967_295)),
        ])
    }

    /// The listed models plus every speech model the price list prices (text-to-speech takes the
    /// model id in the body; the request is the same for all).
    static func capabilities(priceList: PricingVersion?) -> ProviderCapabilities {
        let priced = priceList?.models(provider: ProviderID.elevenlabs.rawValue) ?? []
        return capabilities.adding(priced.filter { $0.impliedKinds == [.audio] }.map { model($0.model) })
    }

    /// File extension and MIME type for an `output_format` value.
    static func file(for format: String) -> (ext: String, mime: String) {
        switch format.split(separator: "_").first.map(String.init) ?? "" {
        case "mp3": ("mp3", "audio/mpeg")
        case "opus": ("opus", "audio/ogg")
        case "pcm": ("pcm", "audio/pcm")
        case "wav": ("wav", "audio/wav")
        case "ulaw": ("ulaw", "audio/basic")
        case "alaw": ("alaw", "audio/x-alaw-basic")
        default: ("bin", "application/octet-stream")
        }
    }
}

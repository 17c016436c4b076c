import Domain
import Foundation

/// OpenAI models and the parameters each accepts (providers.md §1.1–§1.3). dall-e-3 is absent:
/// it was removed from the API on 2026-05-12.
enum OpenAICatalog {
    static let capabilities = ProviderCapabilities(provider: .openai, models: chat + images + speech)

    /// The listed models plus every OpenAI model the price list prices: chat models by tokens,
    /// gpt-image models by image, speech models by characters (the wire format is the same for all).
    static func capabilities(priceList: PricingVersion?) -> ProviderCapabilities {
        let priced = priceList?.models(provider: ProviderID.openai.rawValue) ?? []
        return capabilities.adding(priced.flatMap { model in
            model.impliedKinds.compactMap { kind -> ModelCapability? in
                switch kind {
                case .text: chatModel(model.model, maxOutput: model.maxOutputTokens ?? defaultMaxOutput, reasoning: isReasoning(model.model))
                case .image where model.model.hasPrefix("gpt-image"): imageModel(model.model)
                case .audio where model.model.contains("tts"): speechModel(model.model, voices: allVoices)
                default: nil
                }
            }
        })
    }

    /// The smallest `max_completion_tokens` ceiling among OpenAI's chat models, for a priced model
    /// whose price list entry does not state one.
    static let defaultMaxOutput = 16_384

    /// gpt-5 and the o-series reason, and then accept only the default temperature.
    static func isReasoning(_ id: String) -> Bool {
        id.hasPrefix("gpt-5") || (id.first == "o" && id.dropFirst().first?.isNumber == true)
    }

    static let chat: [ModelCapability] = [
        chatModel("gpt-4o-mini", maxOutput: 16_384, reasoning: false),
        chatModel("gpt-4o", maxOutput: 16_384, reasoning: false),
        chatModel("gpt-4.1", maxOutput: 32_768, reasoning: false),
        chatModel("gpt-4.1-mini", maxOutput: 32_768, reasoning: false),
        chatModel("gpt-4.1-nano", maxOutput: 32_768, reasoning: false),
        chatModel("gpt-5", maxOutput: 128_000, reasoning: true),
        chatModel("gpt-5-mini", maxOutput: 128_000, reasoning: true),
        chatModel("gpt-5-nano", maxOutput: 128_000, reasoning: true),
        chatModel("o4-mini", maxOutput: 100_000, reasoning: true),
    ]

    /// Reasoning models (gpt-5*, o-series) accept only the default temperature.
    static func chatModel(_ id: String, maxOutput: Int, reasoning: Bool) -> ModelCapability {
        var parameters = [
            ParameterSpec(.systemPrompt, .text(maxLength: 100_000)),
            ParameterSpec(.maxOutputTokens, .integerRange(min: 1, max: maxOutput)),
            ParameterSpec(.seed, .integerRange(min: 0, max: Int(Int32.max))),
        ]
        if !reasoning { parameters.append(ParameterSpec(.temperature, .decimalRange(min: 0, max: 2))) }
        return ModelCapability(id: id, kind: .text, parameters: parameters)
    }

    static let images: [ModelCapability] = ["gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5"].map(imageModel)

    static func imageModel(_ id: String) -> ModelCapability {
        ModelCapability(id: id, kind: .image, parameters: [
            ParameterSpec(.size, .oneOf(["1024x1024", "1536x1024", "1024x1536", "auto"]), default: "1024x1024"),
            ParameterSpec(.quality, .oneOf(["low", "medium", "high", "auto"]), default: "auto"),
            ParameterSpec(.count, .integerRange(min: 1, max: 10), default: "1"),
            ParameterSpec(.outputFormat, .oneOf(["png", "jpeg", "webp"]), default: "png"),
        ], maxPromptLength: 32_000)
    }

    static let allVoices = ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer",
                            "verse", "marin", "cedar"]
    /// tts-1 and tts-1-hd know only the older voices (providers.md §1.3, marked unsure there).
    static let classicVoices = ["alloy", "ash", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer"]
    static let speechFormats = ["mp3", "opus", "aac", "flac", "wav", "pcm"]

    static let speech: [ModelCapability] = [
        speechModel("tts-1", voices: classicVoices),
        speechModel("tts-1-hd", voices: classicVoices),
        speechModel("gpt-4o-mini-tts", voices: allVoices),
    ]

    static func speechModel(_ id: String, voices: [String]) -> ModelCapability {
        ModelCapability(id: id, kind: .audio, parameters: [
            ParameterSpec(.voice, .oneOf(voices), default: "alloy"),
            ParameterSpec(.outputFormat, .oneOf(speechFormats), default: "mp3"),
            ParameterSpec(.speed, .decimalRange(min: Decimal(25) / 100, max: 4), default: "1"),
        ], maxPromptLength: 4096)
    }
}

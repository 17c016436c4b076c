/// What a price is charged per. Raw values are the catalog's and the API's spelling.
public enum PriceUnit: String, Codable, CaseIterable, Sendable, Hashable, Comparable {
    /// Uncached input (prompt) tokens. See ``Usage`` for how cached tokens are kept apart.
    case inputToken = "input_token"
    case cachedInputTokenRead = "cached_input_token_read"
    /// Anthropic's 5-minute cache write (the default TTL).
    case cachedInputTokenWrite = "cached_input_token_write"
    /// Anthropic's 1-hour cache write, priced at 2× input (providers.md §9.1).
    case cachedInputTokenWrite1h = "cached_input_token_write_1h"
    /// OpenAI's 12-hour cache write (LiteLLM `cache_creation_input_token_cost_above_12hr`).
    case cachedInputTokenWrite12h = "cached_input_token_write_12h"
    /// Output tokens, reasoning tokens included (OpenAI counts them inside `completion_tokens`).
    case outputToken = "output_token"
    /// gpt-image input images, as tokens.
    case imageInputToken = "image_input_token"
    /// gpt-image generated images, as tokens.
    case imageOutputToken = "image_output_token"
    case audioInputToken = "audio_input_token"
    /// gpt-4o-mini-tts generated audio, as tokens.
    case audioOutputToken = "audio_output_token"
    /// One generated image; rows usually select size × quality.
    case image
    /// One second of generated video; rows usually select a resolution tier or audio on/off.
    case videoSecond = "video_second"
    /// A thousand characters of text to speech.
    case characters1k = "characters_1k"
    /// One megapixel of generated image (FAL FLUX), already rounded by the provider's rule.
    case megapixel
    case request
    /// A provider credit (Runway, ElevenLabs), for when the provider reports what it charged.
    case credit

    public static func < (lhs: PriceUnit, rhs: PriceUnit) -> Bool {
        (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
    }

    /// Token units, for which a long-context tier may apply.
    public var isToken: Bool {
        switch self {
        case .inputToken, .cachedInputTokenRead, .cachedInputTokenWrite, .cachedInputTokenWrite1h, .cachedInputTokenWrite12h, .outputToken,
             .imageInputToken, .imageOutputToken, .audioInputToken, .audioOutputToken:
            true
        case .image, .videoSecond, .characters1k, .megapixel, .request, .credit:
            false
        }
    }
}

/// How a model's cost is known.
public enum PricingMode: String, Codable, Sendable, Hashable {
    /// Usage × catalog prices.
    case priced
    /// The provider's response states the charge (OpenRouter's `usage.cost`); the catalog has at
    /// most estimate-only prices for quoting ahead of time.
    case providerReported = "provider_reported"
    /// Costs nothing (the local offline provider). Recorded as an explicit $0, unlike unpriced.
    case free
}

/// How sure the catalog is of a price, after providers.md's markers.
public enum PriceConfidence: String, Codable, Sendable, Hashable {
    /// [V]: an official SDK or the provider's own documentation.
    case verified
    /// [L]: LiteLLM's price file.
    case litellm
    /// [?]: not fully verified, or derived by us; the source note says how.
    case unverified
}

extension PriceUnit {
    /// What one unit is, as `GET /v1/pricing` explains it.
    public var definition: String {
        switch self {
        case .inputToken: "one input token not read from or written to a prompt cache"
        case .cachedInputTokenRead: "one input token read from the provider's prompt cache"
        case .cachedInputTokenWrite: "one input token written to the prompt cache with the default 5-minute lifetime"
        case .cachedInputTokenWrite1h: "one input token written to the prompt cache with a 1-hour lifetime"
        case .cachedInputTokenWrite12h: "one input token written to the prompt cache with a 12-hour lifetime"
        case .outputToken: "one output token, reasoning tokens included"
        case .imageInputToken: "one image input token (gpt-image)"
        case .imageOutputToken: "one generated image token (gpt-image)"
        case .audioInputToken: "one audio input token"
        case .audioOutputToken: "one generated audio token"
        case .image: "one generated image"
        case .videoSecond: "one second of generated video, per clip"
        case .characters1k: "1,000 characters of input text (Unicode scalars), pro rata"
        case .megapixel: "one billable megapixel: each image's width × height divided by 1,048,576 and rounded up to a whole number (FAL's rule as LiteLLM applies it)"
        case .request: "one request"
        case .credit: "one credit the provider reports it charged"
        }
    }
}

import Foundation

/// Provider usage reports → ``Usage``, each following the convention documented there.
extension Usage {
    /// OpenAI chat: `prompt_tokens` *includes* `prompt_tokens_details.cached_tokens`, so the
    /// cached part is moved out of `inputTokens` (providers.md §1.1). Reasoning tokens are
    /// already inside `completion_tokens`.
    public static func openAIChat(promptTokens: Int, cachedTokens: Int = 0, completionTokens: Int) throws(DomainError) -> Usage {
        guard promptTokens >= 0, completionTokens >= 0, cachedTokens >= 0, cachedTokens <= promptTokens else {
            throw .validation([FieldError(field: "usage.prompt_tokens_details.cached_tokens", code: "inconsistent_usage",
                                          message: "Cached tokens must be between 0 and prompt_tokens.")])
        }
        return Usage(inputTokens: promptTokens - cachedTokens, cachedInputReadTokens: cachedTokens, outputTokens: completionTokens)
    }

    /// Anthropic messages: `input_tokens` *excludes* cache reads and writes (providers.md §2.1).
    /// When `cache_creation.ephemeral_1h_input_tokens` is given, that part of
    /// `cache_creation_input_tokens` is priced as a 1-hour write.
    public static func anthropic(
        inputTokens: Int, cacheCreationInputTokens: Int = 0, cacheReadInputTokens: Int = 0,
        outputTokens: Int, ephemeral1hInputTokens: Int = 0
    ) throws(DomainError) -> Usage {
        guard ephemeral1hInputTokens >= 0, ephemeral1hInputTokens <= cacheCreationInputTokens else {
            throw .validation([FieldError(field: "usage.cache_creation.ephemeral_1h_input_tokens", code: "inconsistent_usage",
                                          message: "1-hour cache writes must be part of cache_creation_input_tokens.")])
        }
        let usage = Usage(
            inputTokens: inputTokens, cachedInputReadTokens: cacheReadInputTokens,
            cachedInputWriteTokens: cacheCreationInputTokens - ephemeral1hInputTokens,
            cachedInputWriteOneHourTokens: ephemeral1hInputTokens, outputTokens: outputTokens
        )
        let errors = usage.validationErrors
        guard errors.isEmpty else { throw .validation(errors) }
        return usage
    }

    /// OpenAI images (gpt-image): tokens by kind from `usage.input_tokens_details` and
    /// `usage.output_tokens_details`, plus the images made, which models billed by tokens
    /// treat as informational (providers.md §1.2).
    public static func openAIImages(
        textInputTokens: Int, imageInputTokens: Int, imageOutputTokens: Int, textOutputTokens: Int = 0,
        images: [ImageQuantity]
    ) -> Usage {
        Usage(inputTokens: textInputTokens, outputTokens: textOutputTokens, imageInputTokens: imageInputTokens,
              imageOutputTokens: imageOutputTokens, images: images)
    }

    /// OpenRouter: the charge is `usage.cost` (credits = USD, providers.md §3.1); the tokens are
    /// kept for analytics, normalised like OpenAI's.
    public static func openRouter(promptTokens: Int, cachedTokens: Int = 0, completionTokens: Int, cost: Money?) throws(DomainError) -> Usage {
        var usage = try openAIChat(promptTokens: promptTokens, cachedTokens: cachedTokens, completionTokens: completionTokens)
        usage.providerReportedCost = cost
        return usage
    }

    /// ElevenLabs: the `character-cost` header states the credits charged; when present it is
    /// the charge and the characters are not also billed. Without it, characters are billed.
    public static func elevenLabs(characters: Int, creditsCharged: Decimal?) -> Usage {
        if let creditsCharged { return Usage(credits: creditsCharged) }
        return Usage(characters: characters)
    }

    /// Runway: a task that reports its credits is billed by them, else by seconds.
    public static func runway(seconds: Decimal?, audio: String? = nil, images: [ImageQuantity] = [], creditsCharged: Decimal?) -> Usage {
        if let creditsCharged { return Usage(credits: creditsCharged) }
        return Usage(images: images, video: seconds.map { [VideoQuantity(seconds: $0, audio: audio)] } ?? [])
    }
}

/// FAL's FLUX megapixel rule (LiteLLM's fal cost calculator, providers.md §9.2 [L]): each
/// image is rounded *up* to whole megapixels of 1,048,576 pixels.
public enum Megapixels {
    public static let pixelsPerMegapixel = 1_048_576

    /// Whole megapixels, rounded up; nil when the pixel count does not fit `Int` (no real image
    /// is that large, so a provider or client reporting one is refused, never wrapped).
    public static func billable(width: Int, height: Int) -> Int? {
        let (pixels, overflow) = max(0, width).multipliedReportingOverflow(by: max(0, height))
        guard !overflow else { return nil }
        return pixels / pixelsPerMegapixel + (pixels % pixelsPerMegapixel == 0 ? 0 : 1)
    }

    public static func billable(images: [(width: Int, height: Int)]) -> Int? {
        var total = 0
        for image in images {
            guard let each = billable(width: image.width, height: image.height) else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(each)
            guard !overflow else { return nil }
            total = sum
        }
        return total
    }
}

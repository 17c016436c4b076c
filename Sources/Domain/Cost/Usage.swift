import Foundation

/// What a generation consumed, in the provider-neutral units the catalog prices.
///
/// Token convention (Anthropic's): `inputTokens` are the *uncached* input tokens only.
/// Cache reads and cache writes are counted in their own fields and never also in
/// `inputTokens`, so each token is charged exactly once. OpenAI's `prompt_tokens` includes
/// `cached_tokens`; ``openAIChat(promptTokens:cachedTokens:completionTokens:)`` subtracts them.
/// `outputTokens` include reasoning tokens (OpenAI already counts them in `completion_tokens`).
///
/// Every non-zero quantity is charged if the model has a price for it; an adapter fills the
/// quantities the provider bills by (the provider-specific constructors below do it right).
public struct Usage: Codable, Sendable, Hashable {
    public var inputTokens: Int
    public var cachedInputReadTokens: Int
    /// 5-minute cache writes (Anthropic's default).
    public var cachedInputWriteTokens: Int
    public var cachedInputWriteOneHourTokens: Int
    /// OpenAI's 12-hour cache writes.
    public var cachedInputWriteTwelveHourTokens: Int
    public var outputTokens: Int
    /// The reasoning part of `outputTokens`: reported for reconciliation, never priced again.
    public var reasoningTokens: Int
    public var imageInputTokens: Int
    public var imageOutputTokens: Int
    public var audioInputTokens: Int
    public var audioOutputTokens: Int
    public var images: [ImageQuantity]
    public var video: [VideoQuantity]
    public var characters: Int
    /// Billable megapixels, already rounded by the provider's rule (``Megapixels``).
    public var megapixels: Decimal
    public var requests: Int
    /// Credits the provider says it charged (Runway task credits, ElevenLabs `character-cost`).
    public var credits: Decimal
    /// The charge the provider states in its response (OpenRouter `usage.cost`).
    public var providerReportedCost: Money?
    /// Counts the provider did not report, or reported out of range (`NormalisedUsage.unreported`):
    /// usage with any is invalid, never priced as if they were 0.
    public var unreported: [String]?

    public init(
        inputTokens: Int = 0, cachedInputReadTokens: Int = 0, cachedInputWriteTokens: Int = 0,
        cachedInputWriteOneHourTokens: Int = 0, cachedInputWriteTwelveHourTokens: Int = 0, outputTokens: Int = 0,
        reasoningTokens: Int = 0, imageInputTokens: Int = 0,
        imageOutputTokens: Int = 0, audioInputTokens: Int = 0, audioOutputTokens: Int = 0,
        images: [ImageQuantity] = [], video: [VideoQuantity] = [], characters: Int = 0,
        megapixels: Decimal = 0, requests: Int = 0, credits: Decimal = 0, providerReportedCost: Money? = nil
    ) {
        self.inputTokens = inputTokens
        self.cachedInputReadTokens = cachedInputReadTokens
        self.cachedInputWriteTokens = cachedInputWriteTokens
        self.cachedInputWriteOneHourTokens = cachedInputWriteOneHourTokens
        self.cachedInputWriteTwelveHourTokens = cachedInputWriteTwelveHourTokens
        self.outputTokens = outputTokens
        self.reasoningTokens = reasoningTokens
        self.imageInputTokens = imageInputTokens
        self.imageOutputTokens = imageOutputTokens
        self.audioInputTokens = audioInputTokens
        self.audioOutputTokens = audioOutputTokens
        self.images = images
        self.video = video
        self.characters = characters
        self.megapixels = megapixels
        self.requests = requests
        self.credits = credits
        self.providerReportedCost = providerReportedCost
    }

    /// All prompt tokens, cached or not: what long-context tiers are decided on.
    /// Saturates at `Int.max` instead of trapping; `validationErrors` refuses counts that could get there.
    public var promptTokens: Int {
        Self.saturatingSum([inputTokens, cachedInputReadTokens, cachedInputWriteTokens, cachedInputWriteOneHourTokens,
                            cachedInputWriteTwelveHourTokens])
    }

    public static func saturatingSum(_ values: [Int]) -> Int {
        var total = 0
        for value in values {
            let (sum, overflow) = total.addingReportingOverflow(value)
            if overflow { return value < 0 ? Int.min : Int.max }
            total = sum
        }
        return total
    }

    /// The quantities to price, one per unit and dimension, zeros left out.
    public var meteredQuantities: [MeteredQuantity] {
        var result: [MeteredQuantity] = []
        func add(_ unit: PriceUnit, _ quantity: Decimal, _ dimension: PriceDimension = .none) {
            guard quantity != 0 else { return }
            if let index = result.firstIndex(where: { $0.unit == unit && $0.dimension == dimension }) {
                result[index].quantity += quantity
            } else {
                result.append(MeteredQuantity(unit: unit, dimension: dimension, quantity: quantity))
            }
        }
        add(.inputToken, Decimal(inputTokens))
        add(.cachedInputTokenRead, Decimal(cachedInputReadTokens))
        add(.cachedInputTokenWrite, Decimal(cachedInputWriteTokens))
        add(.cachedInputTokenWrite1h, Decimal(cachedInputWriteOneHourTokens))
        add(.cachedInputTokenWrite12h, Decimal(cachedInputWriteTwelveHourTokens))
        add(.outputToken, Decimal(outputTokens))
        add(.imageInputToken, Decimal(imageInputTokens))
        add(.imageOutputToken, Decimal(imageOutputTokens))
        add(.audioInputToken, Decimal(audioInputTokens))
        add(.audioOutputToken, Decimal(audioOutputTokens))
        for image in images {
            add(.image, Decimal(image.count), PriceDimension(size: image.size, quality: image.quality, resolution: image.resolution))
        }
        for clip in video {
            add(.videoSecond, clip.seconds * Decimal(clip.count), PriceDimension(resolution: clip.resolution, audio: clip.audio))
        }
        // Characters are priced per thousand; the division by 1000 is exact in Decimal.
        add(.characters1k, Decimal(characters) / 1000)
        add(.megapixel, megapixels)
        add(.request, Decimal(requests))
        add(.credit, credits)
        return result
    }

    /// Checks what a provider adapter could get wrong; each problem names its field.
    public var validationErrors: [FieldError] {
        var errors: [FieldError] = []
        let counts: [(String, Int)] = [
            ("input_tokens", inputTokens), ("cached_input_read_tokens", cachedInputReadTokens),
            ("cached_input_write_tokens", cachedInputWriteTokens), ("cached_input_write_one_hour_tokens", cachedInputWriteOneHourTokens),
            ("cached_input_write_twelve_hour_tokens", cachedInputWriteTwelveHourTokens),
            ("output_tokens", outputTokens), ("reasoning_tokens", reasoningTokens), ("image_input_tokens", imageInputTokens), ("image_output_tokens", imageOutputTokens),
            ("audio_input_tokens", audioInputTokens), ("audio_output_tokens", audioOutputTokens),
            ("characters", characters), ("requests", requests),
        ]
        for (field, value) in counts where value < 0 {
            errors.append(FieldError(field: field, code: "negative_quantity", message: "Must not be negative."))
        }
        for (field, value) in counts where value > ReportedNumbers.maximumCount {
            errors.append(FieldError(field: field, code: "out_of_range", message: "Must be at most \(ReportedNumbers.maximumCount)."))
        }
        for (index, image) in images.enumerated() where image.count > ReportedNumbers.maximumCount {
            errors.append(FieldError(field: "images[\(index)].count", code: "out_of_range", message: "Must be at most \(ReportedNumbers.maximumCount)."))
        }
        for (index, clip) in video.enumerated()
        where clip.count > ReportedNumbers.maximumCount || ReportedNumbers.seconds(clip.seconds) == nil && clip.seconds >= 0 {
            errors.append(FieldError(field: "video[\(index)]", code: "out_of_range",
                                     message: "At most \(ReportedNumbers.maximumCount) clips of at most \(ReportedNumbers.maximumSeconds) seconds."))
        }
        // Bounded so that no price × quantity can leave Decimal's range (which would give NaN, not a trap, but no price).
        if !megapixels.isFinite || megapixels > Decimal(ReportedNumbers.maximumCount) {
            errors.append(FieldError(field: "megapixels", code: "out_of_range", message: "Must be at most \(ReportedNumbers.maximumCount)."))
        }
        if ReportedNumbers.amount(credits) == nil && credits >= 0 {
            errors.append(FieldError(field: "credits", code: "out_of_range", message: "Must be at most \(ReportedNumbers.maximumAmount)."))
        }
        if reasoningTokens > outputTokens, reasoningTokens >= 0, outputTokens >= 0 {
            errors.append(FieldError(field: "reasoning_tokens", code: "inconsistent_usage",
                                     message: "Reasoning tokens are part of output_tokens, so at most output_tokens."))
        }
        for field in unreported ?? [] {
            errors.append(FieldError(field: field, code: "unreported", message: "The provider did not report it within range."))
        }
        if megapixels < 0 { errors.append(FieldError(field: "megapixels", code: "negative_quantity", message: "Must not be negative.")) }
        if credits < 0 { errors.append(FieldError(field: "credits", code: "negative_quantity", message: "Must not be negative.")) }
        for (index, image) in images.enumerated() where image.count < 0 {
            errors.append(FieldError(field: "images[\(index)].count", code: "negative_quantity", message: "Must not be negative."))
        }
        for (index, clip) in video.enumerated() where clip.seconds < 0 || clip.count < 0 {
            errors.append(FieldError(field: "video[\(index)]", code: "negative_quantity", message: "Must not be negative."))
        }
        if let cost = providerReportedCost, cost.isNegative {
            errors.append(FieldError(field: "provider_reported_cost", code: "amount_negative", message: "Must not be negative."))
        }
        return errors
    }
}

public struct ImageQuantity: Codable, Sendable, Hashable {
    public var count: Int
    public var size: String?
    public var quality: String?
    public var resolution: String?

    public init(count: Int, size: String? = nil, quality: String? = nil, resolution: String? = nil) {
        self.count = count
        self.size = size
        self.quality = quality
        self.resolution = resolution
    }
}

public struct VideoQuantity: Codable, Sendable, Hashable {
    /// Seconds of one clip.
    public var seconds: Decimal
    public var resolution: String?
    /// `on`/`off` where generated audio changes the price.
    public var audio: String?
    /// Clips of this length produced (Veo's `sampleCount`).
    public var count: Int

    public init(seconds: Decimal, resolution: String? = nil, audio: String? = nil, count: Int = 1) {
        self.seconds = seconds
        self.resolution = resolution
        self.audio = audio
        self.count = count
    }
}

/// One quantity to price.
public struct MeteredQuantity: Codable, Sendable, Hashable {
    public var unit: PriceUnit
    public var dimension: PriceDimension
    public var quantity: Decimal
}

extension Usage {
    private enum CodingKeys: String, CodingKey {
        case inputTokens, cachedInputReadTokens, cachedInputWriteTokens, cachedInputWriteOneHourTokens, cachedInputWriteTwelveHourTokens
        case outputTokens, reasoningTokens
        case imageInputTokens, imageOutputTokens, audioInputTokens, audioOutputTokens
        case images, video, characters, megapixels, requests, credits, providerReportedCost
    }

    /// Absent fields are zero, so stored usage stays readable when fields are added.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            inputTokens: try c.decodeIfPresent(Int.self, forKey: .inputTokens) ?? 0,
            cachedInputReadTokens: try c.decodeIfPresent(Int.self, forKey: .cachedInputReadTokens) ?? 0,
            cachedInputWriteTokens: try c.decodeIfPresent(Int.self, forKey: .cachedInputWriteTokens) ?? 0,
            cachedInputWriteOneHourTokens: try c.decodeIfPresent(Int.self, forKey: .cachedInputWriteOneHourTokens) ?? 0,
            cachedInputWriteTwelveHourTokens: try c.decodeIfPresent(Int.self, forKey: .cachedInputWriteTwelveHourTokens) ?? 0,
            outputTokens: try c.decodeIfPresent(Int.self, forKey: .outputTokens) ?? 0,
            reasoningTokens: try c.decodeIfPresent(Int.self, forKey: .reasoningTokens) ?? 0,
            imageInputTokens: try c.decodeIfPresent(Int.self, forKey: .imageInputTokens) ?? 0,
            imageOutputTokens: try c.decodeIfPresent(Int.self, forKey: .imageOutputTokens) ?? 0,
            audioInputTokens: try c.decodeIfPresent(Int.self, forKey: .audioInputTokens) ?? 0,
            audioOutputTokens: try c.decodeIfPresent(Int.self, forKey: .audioOutputTokens) ?? 0,
            images: try c.decodeIfPresent([ImageQuantity].self, forKey: .images) ?? [],
            video: try c.decodeIfPresent([VideoQuantity].self, forKey: .video) ?? [],
            characters: try c.decodeIfPresent(Int.self, forKey: .characters) ?? 0,
            megapixels: try c.decodeIfPresent(Decimal.self, forKey: .megapixels) ?? 0,
            requests: try c.decodeIfPresent(Int.self, forKey: .requests) ?? 0,
            credits: try c.decodeIfPresent(Decimal.self, forKey: .credits) ?? 0,
            providerReportedCost: try c.decodeIfPresent(Money.self, forKey: .providerReportedCost)
        )
    }
}

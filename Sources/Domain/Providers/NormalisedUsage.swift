import Foundation

/// Usage in provider-neutral units, with non-overlapping token counts so that
/// cost = Σ count × price needs no provider knowledge.
///
/// Providers disagree on whether their input count includes cached tokens: OpenAI's
/// `prompt_tokens` includes `prompt_tokens_details.cached_tokens`, Anthropic's `input_tokens`
/// excludes `cache_read_input_tokens` and `cache_creation_input_tokens` (providers.md §1.1, §2.1).
/// Each adapter converts to this shape and says so where it does it.
public struct NormalisedUsage: Sendable, Codable, Equatable {
    /// Input tokens billed at the full input price (cached tokens excluded).
    public var inputTokens: Int
    /// Input tokens read from the provider's prompt cache.
    public var cachedInputReadTokens: Int
    /// Input tokens written to the provider's prompt cache with the default (5-minute) lifetime.
    public var cachedInputWriteTokens: Int
    /// Cache writes with Anthropic's 1-hour lifetime, priced higher; not also in `cachedInputWriteTokens`.
    public var cachedInputWriteOneHourTokens: Int
    /// Output tokens, reasoning included (it is billed as output everywhere).
    public var outputTokens: Int
    /// The reasoning part of `outputTokens`; informational, do not add it again.
    public var reasoningTokens: Int
    /// Image tokens read (gpt-image edits and references); not also in `inputTokens`.
    public var imageInputTokens: Int
    /// Image tokens generated (gpt-image bills these); not also in `outputTokens`.
    public var imageOutputTokens: Int
    public var images: Int
    /// `WIDTHxHEIGHT` of the generated images, when the provider says or the request fixed it.
    public var imageSize: String?
    public var imageQuality: String?
    /// Total megapixels produced (FAL bills FLUX per megapixel).
    public var megapixels: Decimal?
    /// Total seconds of video produced, over all clips.
    public var videoSeconds: Decimal?
    /// Clips produced (Veo's `sampleCount`); each is `videoSeconds / videoClips` long.
    public var videoClips: Int
    public var videoResolution: String?
    public var audioSeconds: Decimal?
    /// Characters of input text, in Unicode scalars as the estimate counts them (speech is billed per character).
    public var characters: Int?
    public var requests: Int
    /// What the provider says it charged, in USD (OpenRouter `usage.cost`). Never computed here.
    public var providerReportedCostUSD: Decimal?
    /// What the provider says it charged in its own credits (ElevenLabs `character-cost`,
    /// Runway credits); `providerCreditUnit` names the unit.
    public var providerCredits: Decimal?
    public var providerCreditUnit: String?
    /// Counts the provider's answer should have carried and did not, or carried out of range
    /// (`prompt_tokens` absent, negative, past 10¹²): such usage cannot be priced exactly, so the
    /// charge is the reserved estimate (`estimated`), never a count taken as 0.
    public var unreported: [String]?

    public init(inputTokens: Int = 0, cachedInputReadTokens: Int = 0, cachedInputWriteTokens: Int = 0,
                cachedInputWriteOneHourTokens: Int = 0, outputTokens: Int = 0, reasoningTokens: Int = 0,
                imageInputTokens: Int = 0, imageOutputTokens: Int = 0, images: Int = 0, imageSize: String? = nil,
                imageQuality: String? = nil, megapixels: Decimal? = nil, videoSeconds: Decimal? = nil, videoClips: Int = 0,
                videoResolution: String? = nil, audioSeconds: Decimal? = nil, characters: Int? = nil,
                requests: Int = 1, providerReportedCostUSD: Decimal? = nil, providerCredits: Decimal? = nil,
                providerCreditUnit: String? = nil) {
        self.inputTokens = inputTokens
        self.cachedInputReadTokens = cachedInputReadTokens
        self.cachedInputWriteTokens = cachedInputWriteTokens
        self.cachedInputWriteOneHourTokens = cachedInputWriteOneHourTokens
        self.outputTokens = outputTokens
        self.reasoningTokens = reasoningTokens
        self.imageInputTokens = imageInputTokens
        self.imageOutputTokens = imageOutputTokens
        self.images = images
        self.imageSize = imageSize
        self.imageQuality = imageQuality
        self.megapixels = megapixels
        self.videoSeconds = videoSeconds
        self.videoClips = videoClips
        self.videoResolution = videoResolution
        self.audioSeconds = audioSeconds
        self.characters = characters
        self.requests = requests
        self.providerReportedCostUSD = providerReportedCostUSD
        self.providerCredits = providerCredits
        self.providerCreditUnit = providerCreditUnit
    }

    /// All text input tokens, however billed.
    /// Saturates at `Int.max` rather than trapping (adapters bound each count to 10¹² where it enters).
    public var totalInputTokens: Int {
        Usage.saturatingSum([inputTokens, cachedInputReadTokens, cachedInputWriteTokens, cachedInputWriteOneHourTokens])
    }
}

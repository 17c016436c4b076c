import TestSupport

/// The keys the fakes accept, in each provider's real shape and random per run. After every test
/// the logs, recorded errors and URLs are searched for any 8-character piece of any of them
/// (`leakDetector`), so a leak is found whatever the scrubber's patterns catch.
enum TestKeys {
    static let openAI = SampleKeys.openAI()
    static let anthropic = SampleKeys.anthropic()
    static let openRouter = SampleKeys.openRouter()
    static let elevenLabs = SampleKeys.elevenLabs()
    /// An ElevenLabs key the fake accepts but that lacks the `user_read` permission.
    static let elevenLabsRestricted = SampleKeys.elevenLabs()
    static let runway = SampleKeys.runway()
    static let gemini = SampleKeys.google()
    static let fal = SampleKeys.fal()
    /// A key each fake rejects with the provider's invalid-key answer.
    static let wrong = SampleKeys.openAI()

    static let all = [openAI, anthropic, openRouter, elevenLabs, elevenLabsRestricted, runway, gemini, fal, wrong]
    static let leakDetector = KeyLeakDetector(keys: all)

    /// The first piece of a key found in `text`, or nil.
    static func leak(in text: String) -> String? { leakDetector.leak(in: text) }
}

/// Distinctive fake keys: every one contains `SECRET`, so "no log line, error or URL contains
/// SECRET" proves no key leaked, whatever the scrubber's patterns catch.
enum TestKeys {
    static let openAI = "sk-test-SECRET-openai-0123456789abcdef"
    static let anthropic = "sk-ant-test-SECRET-anthropic-0123456789"
    static let openRouter = "sk-or-v1-test-SECRET-openrouter-012345"
    static let elevenLabs = "el-test-SECRET-elevenlabs-0123456789abcd"
    static let runway = "key_test-SECRET-runway-0123456789abcdef"
    static let gemini = "AIza-test-SECRET-gemini-0123456789abcd"
    static let fal = "fal-key-id:test-SECRET-fal-0123456789abcdef"
    /// A key each fake rejects with the provider's invalid-key answer.
    static let wrong = "sk-test-SECRET-wrong-key-99999999"

    static let marker = "SECRET"
}

import Foundation

/// Removes secrets from text that may reach a log line, an error message or a client.
///
/// Providers echo keys back (OpenAI's 401 message quotes a prefix and suffix of the key,
/// providers.md §1.5), so scrubbing the exact key is not enough: anything shaped like a provider
/// key is masked too.
public enum SecretScrubber {
    public static let replacement = "[redacted]"

    public static func scrub(_ text: String, secrets: [String] = []) -> String {
        var result = text
        for secret in secrets where secret.count >= 4 {
            result = result.replacingOccurrences(of: secret, with: replacement)
        }
        for (pattern, template) in keyShapedPatterns {
            result = pattern.stringByReplacingMatches(
                in: result, range: NSRange(result.startIndex..., in: result), withTemplate: template)
        }
        return result
    }

    /// Shapes of provider keys (providers.md §0): OpenAI/Anthropic/OpenRouter `sk-…`, ElevenLabs'
    /// current `sk_<hex>` (its older 32-hex keys look like any digest, so adapters pass them as known
    /// secrets), Runway `key_<hex>`, Google `AIza…`, FAL `<uuid>:<hex>`, plus `key=`/bearer values in echoed URLs
    /// or headers. Deliberately broad: a false positive costs a few characters of a message.
    /// Patterns with a capture group keep the group (the `key=` or `Bearer ` prefix) for context.
    static let keyShapedPatterns: [(NSRegularExpression, String)] = [
        (#"\bsk-[A-Za-z0-9_\-\*\.]{3,}"#, replacement),
        (#"\bsk_[0-9a-fA-F]{16,}"#, replacement),
        (#"\bkey_[A-Za-z0-9]{8,}"#, replacement),
        (#"\bAIza[0-9A-Za-z_\-]{8,}"#, replacement),
        (#"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}:[0-9a-fA-F]{8,}"#, replacement),
        (#"(?i)([?&]key=)[^&\s\"']+"#, "$1" + replacement),
        (#"(?i)(bearer\s+)[^\s\"']+"#, "$1" + replacement),
        (#"(?i)(x-api-key:\s*|xi-api-key:\s*|x-goog-api-key:\s*|authorization:\s*key\s+)[^\s\"']+"#, "$1" + replacement),
    ].compactMap { pattern, template in
        // The patterns are constants; a typo would drop one, which a unit test catches by count.
        (try? NSRegularExpression(pattern: pattern)).map { ($0, template) }
    }

    /// How many key shapes are active (for the test that guards against a broken pattern).
    public static var patternCount: Int { keyShapedPatterns.count }
}

import Foundation

/// The shape each provider's keys have (docs/providers.md and the providers' own docs).
/// Pure and deliberately loose where a provider documents no format: it catches pasting the wrong
/// thing (another provider's key, a truncated key, whitespace) without rejecting keys a provider
/// may issue tomorrow. The message never repeats the key.
public enum ApiKeyShape {
    public static let maximumLength = 512

    /// nil when `key` looks like a key of `provider`; otherwise a sentence for the client.
    public static func problem(with key: String, for provider: ProviderID) -> String? {
        if key.isEmpty { return "must not be empty" }
        if key.count > maximumLength { return "must be at most \(maximumLength) characters" }
        if key.unicodeScalars.contains(where: { CharacterSet.whitespacesAndNewlines.contains($0) }) {
            return "must not contain spaces or line breaks"
        }
        let name = provider.displayName
        switch provider {
        case .openai:
            // `sk-…`, `sk-proj-…`, `sk-svcacct-…`; the other `sk-` families belong to other providers.
            if key.hasPrefix("sk-ant-") { return "looks like an Anthropic key, not an \(name) key" }
            if key.hasPrefix("sk-or-") { return "looks like an OpenRouter key, not an \(name) key" }
            return check(key, prefix: "sk-", body: urlSafe, lengths: 20...maximumLength, name: name)
        case .anthropic:
            return check(key, prefix: "sk-ant-", body: urlSafe, lengths: 40...maximumLength, name: name)
        case .openrouter:
            return check(key, prefix: "sk-or-v1-", body: alphanumeric, lengths: 41...maximumLength, name: name)
        case .elevenlabs:
            // No documented prefix: 32 hex (older) or `sk_` + 48 hex (current).
            return check(key, prefix: "", body: urlSafe, lengths: 32...128, name: name)
        case .runway:
            // providers.md: `^key_[0-9a-f]{128}$`.
            return check(key, prefix: "key_", body: lowerHex, lengths: 132...132, name: name)
        case .veo:
            // Google API keys: `AIza` and 35 URL-safe characters, 39 in all.
            return check(key, prefix: "AIza", body: urlSafe, lengths: 39...39, name: name)
        case .fal:
            // `key_id:key_secret`.
            let parts = key.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
                  parts.allSatisfy({ $0.unicodeScalars.allSatisfy(urlSafe.contains) }) else {
                return "must be a fal.ai key of the form key_id:key_secret"
            }
            return key.count >= 20 ? nil : "is too short for a fal.ai key"
        case .local:
            return "the local provider runs offline and takes no key"
        }
    }

    private static let alphanumeric = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    private static let urlSafe = alphanumeric.union(CharacterSet(charactersIn: "-_"))
    private static let lowerHex = CharacterSet(charactersIn: "0123456789abcdef")

    private static func check(_ key: String, prefix: String, body: CharacterSet, lengths: ClosedRange<Int>, name: String) -> String? {
        guard key.hasPrefix(prefix) else { return "must start with \"\(prefix)\" for \(name)" }
        guard key.dropFirst(prefix.count).unicodeScalars.allSatisfy(body.contains) else {
            return "contains characters that never appear in \(name) keys"
        }
        guard lengths.contains(key.count) else {
            return lengths.count == 1 ? "must be exactly \(lengths.lowerBound) characters for \(name)"
                : "must be \(lengths.lowerBound) to \(lengths.upperBound) characters for \(name)"
        }
        return nil
    }
}

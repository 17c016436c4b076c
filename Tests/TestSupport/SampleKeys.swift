/// Provider API keys in each provider's real shape, random on every call, so no test and no run
/// shares one and a leak check cannot pass because a fixed marker word happens to be scrubbed.
public enum SampleKeys {
    static let hexDigits = Array("0123456789abcdef")
    static let urlSafe = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    static let alphanumeric = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    public static func random(_ count: Int, from alphabet: [Character]) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet.randomElement(using: &generator) ?? "x" })
    }

    public static func hex(_ count: Int) -> String { random(count, from: hexDigits) }

    /// The documented prefixes: the same for every key of a provider, so they carry no secret.
    public static let publicPrefixes = ["sk-proj-", "sk-ant-api03-", "sk-or-v1-", "key_", "AIza"]

    /// OpenAI project key: `sk-proj-` and 48 characters.
    public static func openAI() -> String { "sk-proj-" + random(48, from: alphanumeric) }
    /// Anthropic: `sk-ant-api03-`, 93 URL-safe characters, `AA`.
    public static func anthropic() -> String { "sk-ant-api03-" + random(93, from: urlSafe) + "AA" }
    /// OpenRouter: `sk-or-v1-` and 64 hex digits.
    public static func openRouter() -> String { "sk-or-v1-" + hex(64) }
    /// ElevenLabs: 32 hex digits, no prefix.
    public static func elevenLabs() -> String { hex(32) }
    /// Runway: `key_` and 128 lower-case hex digits.
    public static func runway() -> String { "key_" + hex(128) }
    /// Google AI (Gemini API, Veo): `AIza` and 35 URL-safe characters.
    public static func google() -> String { "AIza" + random(35, from: urlSafe) }
    /// fal.ai: `key_id:key_secret`, a UUID and 32 hex digits.
    public static func fal() -> String {
        "\(hex(8))-\(hex(4))-4\(hex(3))-a\(hex(3))-\(hex(12)):\(hex(32))"
    }

    /// A key for a provider named as in the API (`openai`, `veo`, ...), nil for `local` and unknown names.
    public static func key(for provider: String) -> String? {
        switch provider {
        case "openai": openAI()
        case "anthropic": anthropic()
        case "openrouter": openRouter()
        case "elevenlabs": elevenLabs()
        case "runway": runway()
        case "veo": google()
        case "fal": fal()
        default: nil
        }
    }
}

/// Finds any 8 consecutive characters of a key in a text: a whole key, a prefix, a suffix, a
/// truncation or a slice of the middle. Windows that lie wholly inside a provider's documented
/// prefix (`sk-proj-`) are not looked for: every key of that provider starts with them.
///
/// Each window is 8 ASCII bytes packed into a `UInt64`, so a text is scanned once, byte by byte,
/// whatever the number of keys.
public struct KeyLeakDetector: Sendable {
    public static let width = 8
    private let windows: [UInt64: String]

    public init(keys: [String]) {
        var windows: [UInt64: String] = [:]
        for key in keys {
            let bytes = Array(key.utf8)
            guard bytes.count >= Self.width else { continue }
            let prefixLength = SampleKeys.publicPrefixes.filter { key.hasPrefix($0) }.map(\.utf8.count).max() ?? 0
            for start in 0...(bytes.count - Self.width) where start + Self.width > prefixLength {
                windows[Self.pack(bytes[start..<start + Self.width])] = String(decoding: bytes[start..<start + Self.width], as: UTF8.self)
            }
        }
        self.windows = windows
    }

    /// The first 8-character piece of a key found in `text`, or nil.
    public func leak(in text: String) -> String? {
        var window: UInt64 = 0
        var filled = 0
        for byte in text.utf8 {
            window = window << 8 | UInt64(byte)
            filled += 1
            if filled >= Self.width, let piece = windows[window] { return piece }
        }
        return nil
    }

    /// The first text of `texts` holding a piece of a key, with the piece, for a failure message.
    public func firstLeak(in texts: [String]) -> (piece: String, text: String)? {
        for text in texts {
            if let piece = leak(in: text) { return (piece, text) }
        }
        return nil
    }

    private static func pack(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

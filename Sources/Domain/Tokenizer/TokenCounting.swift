import Foundation

public enum TokenCountKind: String, Codable, Sendable, Hashable {
    /// Counted with the model's own encoding: what the provider will report for this text.
    case exact
    /// The model's encoding is not available here; the count approximates it.
    case estimated
}

public struct TokenCount: Codable, Sendable, Hashable {
    public var count: Int
    public var kind: TokenCountKind
    /// The encoding the model uses (`cl100k_base`, `o200k_base`), or `unpublished`/`unknown`.
    public var modelEncoding: String
    /// What produced `count`: `cl100k_base`, or `utf8_bytes` when no vocabulary was loaded.
    public var countedWith: String

    public init(count: Int, kind: TokenCountKind, modelEncoding: String, countedWith: String) {
        self.count = count
        self.kind = kind
        self.modelEncoding = modelEncoding
        self.countedWith = countedWith
    }
}

/// Counts the tokens a model will see for a text. A port, so that estimates can be tested
/// with a fixed counter and the server can run without a vocabulary file.
public protocol TokenCounting: Sendable {
    func countTokens(_ text: String, provider: String, model: String) -> TokenCount
}

/// The counter the server uses: exact for cl100k_base models, cl100k_base as the estimate for
/// everything else (o200k_base and Claude's unpublished tokenizer mostly give fewer tokens for
/// the same text, so the estimate leans high, which is the safe side for a budget
/// reservation), and a byte-based bound when no vocabulary is loaded.
public struct ModelTokenCounter: TokenCounting {
    public let cl100k: Cl100kTokenizer?

    public init(cl100k: Cl100kTokenizer?) {
        self.cl100k = cl100k
    }

    public func countTokens(_ text: String, provider: String, model: String) -> TokenCount {
        let encoding = Self.encoding(provider: provider, model: model)
        guard let cl100k else {
            return TokenCount(count: Self.byteEstimate(text), kind: .estimated, modelEncoding: encoding, countedWith: "utf8_bytes")
        }
        return TokenCount(
            count: cl100k.count(text), kind: encoding == Cl100kTokenizer.encodingName ? .exact : .estimated,
            modelEncoding: encoding, countedWith: Cl100kTokenizer.encodingName
        )
    }

    /// The encoding of an OpenAI model by its family (tiktoken's model table has the same
    /// families); OpenRouter ids (`openai/gpt-4o`) are read through their vendor prefix.
    public static func encoding(provider: String, model: String) -> String {
        var vendor = provider
        var name = model
        if provider == "openrouter", let slash = model.firstIndex(of: "/") {
            vendor = String(model[..<slash])
            name = String(model[model.index(after: slash)...])
        }
        switch vendor {
        case "openai":
            let o200k = ["gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-", "gpt-image", "gpt-oss"]
            if o200k.contains(where: name.hasPrefix) { return "o200k_base" }
            let cl100k = ["gpt-4", "gpt-3.5", "gpt-35", "text-embedding-"]
            if cl100k.contains(where: name.hasPrefix) { return Cl100kTokenizer.encodingName }
            return "unknown"
        case "anthropic":
            return "unpublished"
        default:
            return "unknown"
        }
    }

    /// Without a vocabulary: a quarter of the UTF-8 bytes (English averages about four bytes a
    /// token), but at least one per non-ASCII scalar, since CJK and emoji often take one or more
    /// tokens each.
    static func byteEstimate(_ text: String) -> Int {
        var bytes = 0
        var nonASCII = 0
        for scalar in text.unicodeScalars {
            bytes += UTF8.width(scalar)
            if !scalar.isASCII { nonASCII += 1 }
        }
        return max((bytes + 3) / 4, nonASCII)
    }
}

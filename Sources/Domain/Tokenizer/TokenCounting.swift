import Foundation

public enum TokenCountKind: String, Codable, Sendable, Hashable {
    /// Counted with the model's own encoding: what the provider will report for this text.
    case exact
    /// The model's encoding is not available here; the count is an upper bound of it
    /// (`TokenUpperBound`), or a count the provider reported for the same text.
    case estimated
}

public struct TokenCount: Codable, Sendable, Hashable {
    public var count: Int
    public var kind: TokenCountKind
    /// The encoding the model uses (`cl100k_base`, `o200k_base`), or `unpublished`/`unknown`.
    public var modelEncoding: String
    /// What produced `count`: an encoding's name, or `utf8_bytes_bound` for the upper bound.
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

/// The counter the server uses: exact with the model's own encoding when its ranks are
/// loaded, otherwise `TokenUpperBound`, never a count with another encoding: a cl100k count
/// is not a bound of an o200k or a Claude count (it is below them on some texts), and an
/// estimate that admission trusts must not be low.
public struct ModelTokenCounter: TokenCounting {
    public let tokenizers: [TokenEncoding: any ExactTokenizer]

    public init(tokenizers: [TokenEncoding: any ExactTokenizer]) {
        self.tokenizers = tokenizers
    }

    public init(cl100k: Cl100kTokenizer?) {
        self.init(tokenizers: cl100k.map { [.cl100kBase: $0] } ?? [:])
    }

    public func countTokens(_ text: String, provider: String, model: String) -> TokenCount {
        let encoding = Self.encoding(provider: provider, model: model)
        if let known = TokenEncoding(rawValue: encoding), let count = tokenizers[known]?.exactCount(text) {
            return TokenCount(count: count, kind: .exact, modelEncoding: encoding, countedWith: encoding)
        }
        return TokenCount(count: TokenUpperBound.count(text), kind: .estimated, modelEncoding: encoding,
                          countedWith: TokenUpperBound.name)
    }

    /// The encoding of a model by its vendor and family (tiktoken's model table has the same
    /// OpenAI families); OpenRouter ids (`openai/gpt-4o`) are read through their vendor prefix.
    public static func encoding(provider: String, model: String) -> String {
        var vendor = provider
        var name = model
        if provider == "openrouter", let slash = model.firstIndex(of: "/") {
            vendor = String(model[..<slash])
            name = String(model[model.index(after: slash)...])
        }
        switch vendor {
        case "openai":
            return openAIEncoding(name)?.rawValue ?? "unknown"
        case "anthropic":
            return "unpublished"
        default:
            return "unknown"
        }
    }

    /// tiktoken's prefixes: every chat, reasoning, image and embedding family OpenAI sells
    /// since GPT-4o is o200k_base; GPT-4, GPT-3.5 and the v2/v3 embeddings are cl100k_base.
    public static func openAIEncoding(_ model: String) -> TokenEncoding? {
        let o200k = ["gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-", "gpt-image", "gpt-oss",
                     "gpt-realtime", "gpt-audio", "codex-", "computer-use-"]
        if o200k.contains(where: model.hasPrefix) { return .o200kBase }
        let cl100k = ["gpt-4", "gpt-3.5", "gpt-35", "text-embedding-"]
        if cl100k.contains(where: model.hasPrefix) { return .cl100kBase }
        return nil
    }
}

import Foundation

/// The OpenAI encodings this project tokenises exactly.
public enum TokenEncoding: String, CaseIterable, Codable, Sendable, Hashable {
    case cl100kBase = "cl100k_base"
    case o200kBase = "o200k_base"

    /// Lines in the published ranks file (ranks 0 ..< size, special tokens excluded).
    public var vocabularySize: Int {
        switch self {
        case .cl100kBase: return 100_256
        case .o200kBase: return 199_998
        }
    }

    /// The tokenizer for this encoding, built from the ranks file's bytes.
    public func tokenizer(ranksData: Data) throws(TokenizerError) -> any ExactTokenizer {
        switch self {
        case .cl100kBase: return try Cl100kTokenizer(ranksData: ranksData)
        case .o200kBase: return try O200kTokenizer(ranksData: ranksData)
        }
    }

    /// Parses a ranks file and checks it has this encoding's size.
    func ranks(from data: Data) throws(TokenizerError) -> TokenRanks {
        let ranks = try TokenRanks(tiktokenFile: data)
        guard ranks.count == vocabularySize, Int(ranks.maxRank) == vocabularySize - 1 else {
            throw .unexpectedVocabulary(expectedCount: vocabularySize, actualCount: ranks.count)
        }
        return ranks
    }
}

/// Exact tokenisation with one published encoding, the same tokens as tiktoken's
/// `encode_ordinary`: special tokens such as `<|endoftext|>` are ordinary text here, which is
/// what counting a user's prompt needs.
public protocol ExactTokenizer: AnyObject, Sendable {
    var encoding: TokenEncoding { get }
    /// Token ids of `text`.
    func encode(_ text: String) -> [Int]
    /// The number of tokens of `text`, without building the array.
    func count(_ text: String) -> Int
    /// The bytes of the tokens (which need not be valid UTF-8 on their own), or nil if an id
    /// is not in the vocabulary.
    func decode(_ tokens: [Int]) -> [UInt8]?
    /// The pre-tokenisation pieces, for inspecting how text was split.
    func pieces(_ text: String) -> [String]
    /// `count`, or nil when this tokenizer cannot count exactly (its vocabulary failed to load).
    func exactCount(_ text: String) -> Int?
}

extension ExactTokenizer {
    public func exactCount(_ text: String) -> Int? { count(text) }
}

/// Where the ranks files come from (a port: Domain reads no files). Returns nil for an
/// encoding the deployment has not configured; throws when one is configured but unreadable.
public protocol TokenRanksSource: Sendable {
    func ranksData(for encoding: TokenEncoding) throws(TokenizerError) -> Data?
}

public enum ExactTokenizers {
    /// Every configured encoding's tokenizer; an unconfigured one is absent, a configured one
    /// that fails to load is an error (a wrong file must not silently degrade counts).
    public static func load(from source: any TokenRanksSource) throws(TokenizerError) -> [TokenEncoding: any ExactTokenizer] {
        var loaded: [TokenEncoding: any ExactTokenizer] = [:]
        for encoding in TokenEncoding.allCases {
            guard let data = try source.ranksData(for: encoding) else { continue }
            loaded[encoding] = try encoding.tokenizer(ranksData: data)
        }
        return loaded
    }
}

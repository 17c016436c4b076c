import Foundation

/// Exact `cl100k_base` tokenisation (OpenAI's GPT-4 / GPT-3.5 encoding).
///
/// The vocabulary comes in as the bytes of a tiktoken ranks file (`scripts/fetch-token-ranks.sh`
/// prints the path of one; the server's `TokenRanksSource` adapter reads it); nothing is
/// downloaded or bundled.
public final class Cl100kTokenizer: ExactTokenizer {
    public static let encodingName = TokenEncoding.cl100kBase.rawValue
    public static let vocabularySize = TokenEncoding.cl100kBase.vocabularySize

    let engine: BytePairEncoder<Cl100kSplitter>
    var ranks: TokenRanks { engine.ranks }
    public var encoding: TokenEncoding { .cl100kBase }

    public init(ranksData: Data) throws(TokenizerError) {
        engine = BytePairEncoder(ranks: try TokenEncoding.cl100kBase.ranks(from: ranksData), splitter: Cl100kSplitter(classes: .shared))
    }

    public func encode(_ text: String) -> [Int] { engine.encode(text) }
    public func count(_ text: String) -> Int { engine.count(text) }
    public func decode(_ tokens: [Int]) -> [UInt8]? { engine.decode(tokens) }
    public func pieces(_ text: String) -> [String] { engine.pieces(text) }
}

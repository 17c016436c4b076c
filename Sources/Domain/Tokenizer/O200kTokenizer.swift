import Foundation

/// Exact `o200k_base` tokenisation (GPT-4o, GPT-4.1, GPT-5, the o-series). Same BPE as
/// cl100k_base over a 199,998-token vocabulary, with its own split pattern (`O200kSplitter`).
public final class O200kTokenizer: ExactTokenizer {
    public static let encodingName = TokenEncoding.o200kBase.rawValue

    let engine: BytePairEncoder<O200kSplitter>
    var ranks: TokenRanks { engine.ranks }
    public var encoding: TokenEncoding { .o200kBase }

    public init(ranksData: Data) throws(TokenizerError) {
        engine = BytePairEncoder(ranks: try TokenEncoding.o200kBase.ranks(from: ranksData), splitter: O200kSplitter(classes: .shared))
    }

    public func encode(_ text: String) -> [Int] { engine.encode(text) }
    public func count(_ text: String) -> Int { engine.count(text) }
    public func decode(_ tokens: [Int]) -> [UInt8]? { engine.decode(tokens) }
    public func pieces(_ text: String) -> [String] { engine.pieces(text) }
}

import Foundation

/// Exact `cl100k_base` tokenisation (OpenAI's GPT-4 / GPT-3.5 encoding), the same tokens as
/// tiktoken's `encode_ordinary`: special tokens such as `<|endoftext|>` are ordinary text here,
/// which is what counting a user's prompt needs.
///
/// The vocabulary is read from a tiktoken ranks file whose path the caller supplies
/// (`scripts/fetch-token-ranks.sh` prints one); nothing is downloaded or bundled.
public final class Cl100kTokenizer: Sendable {
    public static let encodingName = "cl100k_base"
    /// Lines in the published `cl100k_base.tiktoken` (ranks 0…100255).
    public static let vocabularySize = 100_256

    let ranks: TokenRanks
    let splitter: Cl100kSplitter

    public convenience init(ranksFileAt path: String) throws(TokenizerError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw .ranksFileUnreadable(path: path) }
        try self.init(ranksData: data)
    }

    public init(ranksData: Data) throws(TokenizerError) {
        let ranks = try TokenRanks(tiktokenFile: ranksData)
        guard ranks.count == Self.vocabularySize, Int(ranks.maxRank) == Self.vocabularySize - 1 else {
            throw .unexpectedVocabulary(expectedCount: Self.vocabularySize, actualCount: ranks.count)
        }
        self.ranks = ranks
        self.splitter = Cl100kSplitter(classes: .shared)
    }

    /// Token ids of `text`.
    public func encode(_ text: String) -> [Int] {
        var tokens: [Int] = []
        tokens.reserveCapacity(text.utf8.count / 3)
        forEachToken(in: text) { tokens.append(Int($0)) }
        return tokens
    }

    /// The number of tokens of `text`, without building the array.
    public func count(_ text: String) -> Int {
        var total = 0
        forEachToken(in: text) { _ in total += 1 }
        return total
    }

    /// The bytes of the tokens (which need not be valid UTF-8 on their own), or nil if an id is
    /// not in the vocabulary.
    public func decode(_ tokens: [Int]) -> [UInt8]? {
        var result: [UInt8] = []
        for token in tokens {
            guard let bytes = ranks.bytes(ofRank: token) else { return nil }
            result.append(contentsOf: bytes)
        }
        return result
    }

    /// The pre-tokenisation pieces, for inspecting how text was split.
    public func pieces(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { buffer in
            guard let base = buffer.baseAddress else { return [] }
            var result: [String] = []
            var start = 0
            while start < buffer.count {
                let end = splitter.pieceEnd(base, start, buffer.count)
                result.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self))
                start = end
            }
            return result
        }
    }

    private func forEachToken(in text: String, _ body: (Int32) -> Void) {
        var text = text
        // withUTF8 makes the storage contiguous UTF-8 (native strings already are).
        text.withUTF8 { buffer in
            guard let base = buffer.baseAddress else { return }
            var merger = BytePairMerger(ranks: ranks)
            var start = 0
            let count = buffer.count
            while start < count {
                let end = splitter.pieceEnd(base, start, count)
                merger.merge(base + start, end - start, body)
                start = end
            }
        }
    }
}

/// A tiktoken-style encoder: split the text with one pre-tokenisation pattern, then run the
/// byte-level BPE merges inside each piece. Shared by the public tokenizers of each encoding;
/// generic over the splitter so that each one's scanner is specialised and inlined.
struct BytePairEncoder<Splitter: PieceSplitter>: Sendable {
    let ranks: TokenRanks
    let splitter: Splitter

    func encode(_ text: String) -> [Int] {
        var tokens: [Int] = []
        tokens.reserveCapacity(text.utf8.count / 3)
        forEachToken(in: text) { tokens.append(Int($0)) }
        return tokens
    }

    func count(_ text: String) -> Int {
        var total = 0
        forEachToken(in: text) { _ in total += 1 }
        return total
    }

    func decode(_ tokens: [Int]) -> [UInt8]? {
        var result: [UInt8] = []
        for token in tokens {
            guard let bytes = ranks.bytes(ofRank: token) else { return nil }
            result.append(contentsOf: bytes)
        }
        return result
    }

    func pieces(_ text: String) -> [String] {
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

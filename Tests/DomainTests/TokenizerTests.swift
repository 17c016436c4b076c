import Foundation
import XCTest
@testable import Domain

/// The pieces a splitter cuts `text` into, checking that each one is non-empty.
func splitPieces(_ text: String, with splitter: some PieceSplitter) -> [String] {
    var text = text
    return text.withUTF8 { buffer in
        guard let base = buffer.baseAddress else { return [] }
        var result: [String] = []
        var start = 0
        while start < buffer.count {
            let end = splitter.pieceEnd(base, start, buffer.count)
            XCTAssertGreaterThan(end, start)
            guard end > start else { break }
            result.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self))
            start = end
        }
        return result
    }
}

/// The split pattern, piece by piece; no vocabulary needed.
final class SplitterTests: XCTestCase {
    func pieces(_ text: String) -> [String] {
        splitPieces(text, with: Cl100kSplitter(classes: .shared))
    }

    func testWordsTakeTheSpaceBeforeThem() {
        XCTAssertEqual(pieces("Hello world"), ["Hello", " world"])
        XCTAssertEqual(pieces("a  b"), ["a", " ", " b"])
        XCTAssertEqual(pieces("\t\tx"), ["\t", "\tx"])
        XCTAssertEqual(pieces("\"quoted\""), ["\"quoted", "\""])
        XCTAssertEqual(pieces("\u{3000}日本"), ["\u{3000}日本"])
        XCTAssertEqual(pieces("\nword"), ["\n", "word"], "a newline never joins the next word")
    }

    func testContractionsAreCaseInsensitive() {
        XCTAssertEqual(pieces("I'm"), ["I", "'m"])
        XCTAssertEqual(pieces("DON'T"), ["DON", "'T"])
        XCTAssertEqual(pieces("you'll"), ["you", "'ll"])
        XCTAssertEqual(pieces("we'Ve"), ["we", "'Ve"])
        XCTAssertEqual(pieces("x'ſok"), ["x", "'ſ", "ok"], "long s folds to s")
        XCTAssertEqual(pieces("x'kok"), ["x", "'kok"], "not a contraction: the quote joins the word")
        XCTAssertEqual(pieces("'lx"), ["'lx"])
    }

    func testNumbersGoInThrees() {
        XCTAssertEqual(pieces("1234567"), ["123", "456", "7"])
        XCTAssertEqual(pieces("x12"), ["x", "12"])
        XCTAssertEqual(pieces("٣٤٥٦"), ["٣٤٥", "٦"])
        XCTAssertEqual(pieces(" 42"), [" ", "42"], "a space does not join a number")
    }

    func testPunctuationTakesOneSpaceAndTrailingNewlines() {
        XCTAssertEqual(pieces("hi!!!\n\nyo"), ["hi", "!!!\n\n", "yo"])
        XCTAssertEqual(pieces("a ?"), ["a", " ?"])
        XCTAssertEqual(pieces("a  ?"), ["a", " ", " ?"])
        XCTAssertEqual(pieces("🙂🙂 x"), ["🙂🙂", " x"])
    }

    func testWhitespaceRuns() {
        XCTAssertEqual(pieces("x  \n  "), ["x", "  \n", "  "])
        XCTAssertEqual(pieces("x\n \n y"), ["x", "\n \n", " y"])
        XCTAssertEqual(pieces("x   "), ["x", "   "], "at the end, the whole run")
        XCTAssertEqual(pieces("x   y"), ["x", "  ", " y"], "before a word, all but the last")
        XCTAssertEqual(pieces("x\r\n\r\ny"), ["x", "\r\n\r\n", "y"])
        XCTAssertEqual(pieces("x \u{00A0}1"), ["x", " ", "\u{00A0}", "1"])
        XCTAssertEqual(pieces("a\u{0085}b"), ["a", "\u{0085}b"], "NEL is whitespace but not [\\r\\n]")
        XCTAssertEqual(pieces("a\u{200B}b"), ["a", "\u{200B}b"], "ZERO WIDTH SPACE is not whitespace")
    }
}

/// Byte-pair merging on a tiny hand-made vocabulary, both algorithms.
final class BytePairMergerTests: XCTestCase {
    /// All 256 bytes (ranks 0–255), then ab 256, bc 257, abc 258, cd 259, abcd 260.
    static func toyRanks() throws -> TokenRanks {
        var lines = (0..<256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0)" }
        for (rank, token) in ["ab", "bc", "abc", "cd", "abcd"].enumerated() {
            lines.append("\(Data(token.utf8).base64EncodedString()) \(256 + rank)")
        }
        return try TokenRanks(tiktokenFile: Data(lines.joined(separator: "\n").utf8))
    }

    func merge(_ text: String, ranks: TokenRanks, heapThreshold: Int) -> [Int32] {
        var merger = BytePairMerger(ranks: ranks)
        merger.heapThreshold = heapThreshold
        var output: [Int32] = []
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { buffer in
            merger.merge(buffer.baseAddress!, buffer.count) { output.append($0) }
        }
        return output
    }

    func testMergesLowestRankFirstAndLeftmostOnTies() throws {
        let ranks = try Self.toyRanks()
        for threshold in [0, 1_000] {
            // "abcd" is itself a token.
            XCTAssertEqual(merge("abcd", ranks: ranks, heapThreshold: threshold), [260])
            // "abcab": ab(256) at 0 and at 3 tie → leftmost first: [ab][c][ab] → abc(258) → [abc][ab]
            XCTAssertEqual(merge("abcab", ranks: ranks, heapThreshold: threshold), [258, 256])
            // "bcd": bc(257) before cd(259) → [bc][d]
            XCTAssertEqual(merge("bcd", ranks: ranks, heapThreshold: threshold), [257, 100])
            // "xbcdx": [x][bc][d][x]
            XCTAssertEqual(merge("xbcdx", ranks: ranks, heapThreshold: threshold), [120, 257, 100, 120])
            // "aab": [a][ab]
            XCTAssertEqual(merge("aab", ranks: ranks, heapThreshold: threshold), [97, 256])
        }
    }

    func testRanksFileErrors() {
        XCTAssertThrowsError(try TokenRanks(tiktokenFile: Data("YQ== 0\nnot base64!! 1\n".utf8))) {
            XCTAssertEqual($0 as? TokenizerError, .malformedRanks(line: 2))
        }
        XCTAssertThrowsError(try TokenRanks(tiktokenFile: Data("YQ== 0\n".utf8))) {
            XCTAssertEqual($0 as? TokenizerError, .missingByte(0))
        }
        XCTAssertThrowsError(try TokenRanks(tiktokenFile: Data("YQ== 0\nYQ== 1\n".utf8))) {
            XCTAssertEqual($0 as? TokenizerError, .duplicateToken(rank: 1))
        }
        XCTAssertThrowsError(try Cl100kTokenizer(ranksData: Data((0..<256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0)" }
            .joined(separator: "\n").utf8))) {
            XCTAssertEqual($0 as? TokenizerError, .unexpectedVocabulary(expectedCount: 100_256, actualCount: 256))
        }
        XCTAssertThrowsError(try O200kTokenizer(ranksData: Data((0..<256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0)" }
            .joined(separator: "\n").utf8))) {
            XCTAssertEqual($0 as? TokenizerError, .unexpectedVocabulary(expectedCount: 199_998, actualCount: 256))
        }
    }
}

/// Hand-checked cl100k_base tokens (ids as tiktoken gives them), with the real vocabulary.
final class Cl100kTokenizerTests: XCTestCase {
    func testKnownTokens() throws {
        let tokenizer = try TokenTestEnvironment.tokenizer()
        XCTAssertEqual(tokenizer.encode("hello world"), [15339, 1917])
        XCTAssertEqual(tokenizer.encode(""), [])
        XCTAssertEqual(tokenizer.count("hello world"), 2)
        XCTAssertEqual(tokenizer.encode("1234567"), [4513, 10961, 22])
        XCTAssertEqual(tokenizer.encode("it's"), [275, 596])
        XCTAssertEqual(tokenizer.pieces("x  \n  "), ["x", "  \n", "  "])
        XCTAssertEqual(tokenizer.decode([15339, 1917]), Array("hello world".utf8))
        XCTAssertNil(tokenizer.decode([100_256]), "100256 is not in the vocabulary (100257 is <|endoftext|>, a special token)")
        // Special tokens are ordinary text: <|endoftext|> is several tokens, not 100257.
        XCTAssertFalse(tokenizer.encode("<|endoftext|>").contains(100_257))
    }

    /// The heap path and the quadratic path give the same tokens on long pieces.
    func testBothMergeAlgorithmsAgree() throws {
        let tokenizer = try TokenTestEnvironment.tokenizer()
        var random = SeededGenerator(seed: 5)
        let alphabets = ["abcdefghijklmnopqrstuvwxyz", "漢字仮名交じり文日本語中文", "абвгдежзийклмнопрстуфхцчшщ", "กขคงจฉชซ"]
        for _ in 0..<300 {
            let alphabet = Array(alphabets.randomElement(using: &random)!)
            let piece = String((0..<Int.random(in: 2...400, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            let bytes = Array(piece.utf8)
            var results: [[Int32]] = []
            for threshold in [0, Int.max] {
                var merger = BytePairMerger(ranks: tokenizer.ranks)
                merger.heapThreshold = threshold
                var output: [Int32] = []
                bytes.withUnsafeBufferPointer { merger.merge($0.baseAddress!, $0.count) { output.append($0) } }
                results.append(output)
            }
            XCTAssertEqual(results[0], results[1], piece)
        }
    }
}

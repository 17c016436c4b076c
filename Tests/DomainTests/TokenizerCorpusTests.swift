import Foundation
import XCTest
@testable import Domain

/// Our tokenizers against tiktoken's, string by string, on the generated corpora (1,520
/// strings each: every script, emoji, code, contractions, case changes, numbers, whitespace).
final class TokenizerCorpusTests: XCTestCase {
    func testEveryCorpusStringMatchesTiktoken() throws {
        try compare(try TokenTestEnvironment.tokenizer(), with: try TokenTestEnvironment.corpus(.cl100kBase))
    }

    func testEveryCorpusStringMatchesTiktokenO200k() throws {
        try compare(try TokenTestEnvironment.o200k(), with: try TokenTestEnvironment.corpus(.o200kBase))
    }

    private func compare(_ tokenizer: any ExactTokenizer, with corpus: TokenCorpus) throws {
        XCTAssertEqual(corpus.encoding, tokenizer.encoding.rawValue)
        XCTAssertGreaterThanOrEqual(corpus.cases.count, 1_000)
        var mismatches: [String] = []
        var roundTripFailures: [Int] = []
        for (index, testCase) in corpus.cases.enumerated() {
            let tokens = tokenizer.encode(testCase.text)
            let count = tokenizer.count(testCase.text)
            if tokens != testCase.tokens || count != testCase.count {
                mismatches.append("#\(index) \(testCase.text.debugDescription.prefix(120)): expected \(testCase.tokens.prefix(20)) got \(tokens.prefix(20)) (count \(count) vs \(testCase.count)); pieces \(tokenizer.pieces(testCase.text).prefix(12))")
            }
            // Decoding gives back the exact UTF-8 bytes.
            if tokenizer.decode(tokens) != Array(testCase.text.utf8) { roundTripFailures.append(index) }
        }
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) of \(corpus.cases.count) differ from tiktoken \(corpus.tiktokenVersion) \(corpus.encoding):\n" + mismatches.prefix(15).joined(separator: "\n"))
        XCTAssertEqual(roundTripFailures, [], "strings whose tokens do not decode to their bytes")
    }
}

import Foundation
import XCTest
@testable import Domain

/// Our cl100k_base against tiktoken's, string by string, on the generated corpus.
final class TokenizerCorpusTests: XCTestCase {
    func testEveryCorpusStringMatchesTiktoken() throws {
        let corpusPath = try TokenTestEnvironment.value("TOKEN_CORPUS_JSON")
        let tokenizer = try TokenTestEnvironment.tokenizer()
        let data = try Data(contentsOf: URL(fileURLWithPath: corpusPath))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let corpus = try decoder.decode(TokenCorpus.self, from: data)
        XCTAssertEqual(corpus.encoding, "cl100k_base")
        XCTAssertGreaterThanOrEqual(corpus.cases.count, 1_000)

        var mismatches: [String] = []
        for (index, testCase) in corpus.cases.enumerated() {
            let tokens = tokenizer.encode(testCase.text)
            let count = tokenizer.count(testCase.text)
            if tokens != testCase.tokens || count != testCase.count {
                mismatches.append("#\(index) \(testCase.text.debugDescription.prefix(120)): expected \(testCase.tokens.prefix(20)) got \(tokens.prefix(20)) (count \(count) vs \(testCase.count)); pieces \(tokenizer.pieces(testCase.text).prefix(12))")
            }
            // Decoding gives back the exact UTF-8 bytes.
            XCTAssertEqual(tokenizer.decode(tokens), Array(testCase.text.utf8), "round trip #\(index)")
        }
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) of \(corpus.cases.count) differ from tiktoken \(corpus.tiktokenVersion):\n" + mismatches.prefix(15).joined(separator: "\n"))
    }
}

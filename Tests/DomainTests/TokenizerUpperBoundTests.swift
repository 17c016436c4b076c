import Foundation
import XCTest
@testable import Domain

/// `TokenUpperBound` is never below the exact count, on both corpora and both encodings, and
/// the counter uses it (marked `estimated`) wherever no exact encoding is loaded.
final class TokenizerUpperBoundTests: XCTestCase {
    func testTheBoundIsNeverBelowEitherExactTokenizerOnEitherCorpus() throws {
        let tokenizers: [any ExactTokenizer] = [try TokenTestEnvironment.tokenizer(), try TokenTestEnvironment.o200k()]
        let texts = try TokenEncoding.allCases.flatMap { try TokenTestEnvironment.corpus($0).cases.map(\.text) }
        XCTAssertGreaterThanOrEqual(texts.count, 2_000)
        var below: [String] = []
        var slack = 0
        var exact = 0
        for text in texts {
            for tokenizer in tokenizers {
                let count = tokenizer.count(text)
                let bound = TokenUpperBound.count(text)
                if bound < count { below.append("\(tokenizer.encoding.rawValue) \(text.debugDescription.prefix(80)): bound \(bound) < \(count)") }
                slack += bound - count
                exact += count
            }
        }
        XCTAssertEqual(below, [], "texts where the bound is below the true count")
        XCTAssertGreaterThan(exact, 100_000, "the corpora hold enough tokens to mean something")
        XCTAssertGreaterThan(slack, 0)
    }

    func testTheBoundOnHandPickedTexts() {
        XCTAssertEqual(TokenUpperBound.count(""), 0)
        XCTAssertEqual(TokenUpperBound.count("   "), 3)
        XCTAssertEqual(TokenUpperBound.count("漢字"), 6)
        XCTAssertEqual(TokenUpperBound.count("👨‍👩‍👧"), 18)
    }

    func testWithoutTheModelsEncodingTheCountIsTheBoundMarkedEstimated() throws {
        let cl100kOnly = ModelTokenCounter(tokenizers: [.cl100kBase: try TokenTestEnvironment.tokenizer()])
        let text = "1 22 333 4444 ,,,, ;;;; ))))"
        // A cl100k count is not a bound of o200k's: the counter never answers one for an o200k model.
        XCTAssertEqual(cl100kOnly.countTokens(text, provider: "openai", model: "gpt-4o"),
                       TokenCount(count: text.utf8.count, kind: .estimated, modelEncoding: "o200k_base", countedWith: "utf8_bytes_bound"))
        let none = ModelTokenCounter(tokenizers: [:])
        XCTAssertEqual(none.countTokens("", provider: "anthropic", model: "claude-opus-4-5").count, 0)
        XCTAssertEqual(none.countTokens("漢字", provider: "elevenlabs", model: "eleven_v3"),
                       TokenCount(count: 6, kind: .estimated, modelEncoding: "unknown", countedWith: "utf8_bytes_bound"))
    }

    /// Chat framing on top of the texts: OpenAI's 3 per message, 1 per name, 3 for the reply.
    func testChatMessagesAddTheFraming() {
        let counter = ModelTokenCounter(tokenizers: [:])
        let messages = [ChatMessageText(role: "system", content: "be brief"), ChatMessageText(role: "user", content: "", name: "ann")]
        let (total, framing) = ChatTokenCounting.count(messages, with: counter, provider: "anthropic", model: "claude-opus-4-5")
        XCTAssertEqual(framing, 3 + 3 + 3 + 1)
        XCTAssertEqual(total.count, framing + 6 + 8 + 4 + 0 + 3)
        XCTAssertEqual(total.kind, .estimated)
    }
}

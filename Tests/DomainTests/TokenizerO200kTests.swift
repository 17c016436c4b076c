import Foundation
import XCTest
@testable import Domain

/// o200k_base's split pattern, piece by piece (expected pieces are tiktoken's pattern applied
/// to the same strings); no vocabulary needed.
final class O200kSplitterTests: XCTestCase {
    func pieces(_ text: String) -> [String] {
        splitPieces(text, with: O200kSplitter(classes: .shared))
    }

    func testCaseChangesSplitWords() {
        XCTAssertEqual(pieces("helloWorld"), ["hello", "World"])
        XCTAssertEqual(pieces("HELLOworld"), ["HELLOworld"], "capitals then lower case is one word")
        XCTAssertEqual(pieces("HTTPServer"), ["HTTPServer"])
        XCTAssertEqual(pieces("Hello world"), ["Hello", " world"])
    }

    func testCaselessLettersEndAWordBeforeCapitals() {
        // Up*Low+ gives back the capitals: the word ends after the last caseless letter.
        XCTAssertEqual(pieces("中文ABC"), ["中文", "ABC"])
    }

    func testContractionsStayWithTheirWord() {
        XCTAssertEqual(pieces("DON'T"), ["DON'T"])
        XCTAssertEqual(pieces("they'RE"), ["they'RE"])
        XCTAssertEqual(pieces("ABC'S"), ["ABC'S"])
        XCTAssertEqual(pieces("I'm"), ["I'm"])
        XCTAssertEqual(pieces("x'ſok"), ["x'ſ", "ok"], "long s folds to s")
    }

    func testMarksAreWordCharacters() {
        XCTAssertEqual(pieces("\u{301}ABC"), ["\u{301}", "ABC"], "a lone mark before capitals is its own word")
        XCTAssertEqual(pieces("!\u{301}"), ["!\u{301}"])
        XCTAssertEqual(pieces(" \u{301}x"), [" \u{301}x"])
    }

    func testDigitsSlashesAndWhitespace() {
        XCTAssertEqual(pieces("1234567"), ["123", "456", "7"])
        XCTAssertEqual(pieces("a/b"), ["a", "/b"])
        XCTAssertEqual(pieces("!!\n//x"), ["!!\n//", "x"], "slashes after the newlines join the symbol run")
        XCTAssertEqual(pieces("   "), ["   "])
        XCTAssertEqual(pieces("\n\n"), ["\n\n"])
        XCTAssertEqual(pieces(""), [])
    }
}

/// Hand-checked o200k_base tokens (ids as tiktoken 0.14 gives them), with the real vocabulary.
final class O200kTokenizerTests: XCTestCase {
    func testKnownTokens() throws {
        let tokenizer = try TokenTestEnvironment.o200k()
        XCTAssertEqual(tokenizer.encode("hello world"), [24912, 2375])
        XCTAssertEqual(tokenizer.encode("helloWorld"), [24912, 13046])
        XCTAssertEqual(tokenizer.encode("1234567"), [7633, 19354, 22])
        XCTAssertEqual(tokenizer.encode("I'm"), [15390])
        XCTAssertEqual(tokenizer.encode("x'ſok"), [87, 6, 70067, 525])
        XCTAssertEqual(tokenizer.encode("   "), [271])
        XCTAssertEqual(tokenizer.encode(""), [])
        XCTAssertEqual(tokenizer.count("\n\n"), 1)
        XCTAssertEqual(tokenizer.decode([24912, 2375]), Array("hello world".utf8))
        XCTAssertNil(tokenizer.decode([199_998]), "199998 is past the vocabulary (199999 is <|endoftext|>, a special token)")
        // Special tokens are ordinary text.
        XCTAssertEqual(tokenizer.encode("<|endoftext|>"), [27, 91, 419, 1440, 919, 91, 29])
    }

    /// The real counter: exact for o200k models once o200k is loaded, and for cl100k models with cl100k.
    func testCounterIsExactForEveryLoadedEncoding() throws {
        let counter = ModelTokenCounter(tokenizers: [.cl100kBase: try TokenTestEnvironment.tokenizer(), .o200kBase: try TokenTestEnvironment.o200k()])
        XCTAssertEqual(counter.countTokens("hello world", provider: "openai", model: "gpt-4o"),
                       TokenCount(count: 2, kind: .exact, modelEncoding: "o200k_base", countedWith: "o200k_base"))
        XCTAssertEqual(counter.countTokens("1234567", provider: "openai", model: "gpt-5.4-mini").count, 3)
        XCTAssertEqual(counter.countTokens("hello world", provider: "openrouter", model: "openai/gpt-4.1").kind, .exact)
        XCTAssertEqual(counter.countTokens("hello world", provider: "openai", model: "gpt-4").kind, .exact)
        let claude = counter.countTokens("hello world", provider: "anthropic", model: "claude-sonnet-4-5")
        XCTAssertEqual(claude, TokenCount(count: 11, kind: .estimated, modelEncoding: "unpublished", countedWith: "utf8_bytes_bound"))
    }
}

/// Every OpenAI model the shipped catalog prices by the token declares an encoding we count
/// exactly, so its quotes say `exact` once the ranks are loaded.
final class CatalogEncodingTests: XCTestCase {
    func testEveryTokenPricedOpenAIModelHasAnExactEncoding() throws {
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: TestCatalog.data()) as? [String: Any])
        let models = try XCTUnwrap(document["models"] as? [[String: Any]])
        var checked: [String] = []
        var missing: [String] = []
        for entry in models {
            guard let provider = entry["provider"] as? String, let model = entry["model"] as? String else { continue }
            let prices = entry["prices"] as? [[String: Any]] ?? []
            let tokenPriced = prices.contains { ($0["unit"] as? String)?.contains("token") == true }
            let vendor = provider == "openrouter" ? model.split(separator: "/").first.map(String.init) : provider
            guard vendor == "openai", tokenPriced || provider == "openrouter" else { continue }
            checked.append("\(provider)/\(model)")
            if TokenEncoding(rawValue: ModelTokenCounter.encoding(provider: provider, model: model)) == nil {
                missing.append("\(provider)/\(model)")
            }
        }
        XCTAssertGreaterThanOrEqual(checked.count, 15, "the catalog's OpenAI token-priced models: \(checked)")
        XCTAssertEqual(missing, [], "OpenAI models without an exact encoding")
    }
}

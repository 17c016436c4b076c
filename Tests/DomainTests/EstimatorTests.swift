import Foundation
import XCTest
@testable import Domain

/// A counter with known answers: one token per character, exact for every model.
struct CharacterTokenCounter: TokenCounting {
    func countTokens(_ text: String, provider: String, model: String) -> TokenCount {
        TokenCount(count: text.count, kind: .exact, modelEncoding: "test", countedWith: "characters")
    }
}

final class EstimatorTests: XCTestCase {
    var estimator: CostEstimator!

    override func setUpWithError() throws {
        estimator = CostEstimator(pricing: try TestCatalog.load(), tokenCounter: CharacterTokenCounter())
    }

    private func assertQuote(_ estimate: CostEstimate, _ expected: String, _ status: CostStatus = .priced,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(estimate.breakdown.status, status, "\(estimate.breakdown.missing)", file: file, line: line)
        XCTAssertEqual(estimate.breakdown.total, TestCatalog.money(expected), file: file, line: line)
    }

    func testTextIsCountedInputPlusTheWorstCaseOutput() {
        // gpt-4o: 1,000 input tokens × 2.50/1M = 0.0025; 500 max output × 10/1M = 0.005 → 0.0075
        let text = String(repeating: "a", count: 1_000)
        let estimate = estimator.estimate(.text(input: .text(text), maxOutputTokens: 500), provider: "openai", model: "gpt-4o")
        assertQuote(estimate, "0.0075")
        XCTAssertEqual(estimate.basis, .worstCase)
        XCTAssertEqual(estimate.inputTokens?.count, 1_000)
        XCTAssertEqual(estimate.inputTokens?.kind, .exact)
        XCTAssertEqual(estimate.maxOutputTokens, 500)
    }

    func testTextWithoutALimitUsesTheModelsMaximumOutput() {
        // gpt-4o-mini: 100 × 0.15/1M = 0.000015; 16,384 × 0.60/1M = 0.0098304 → 0.0098454
        let estimate = estimator.estimate(.text(input: .text(String(repeating: "b", count: 100)), maxOutputTokens: nil),
                                          provider: "openai", model: "gpt-4o-mini")
        assertQuote(estimate, "0.0098454")
        XCTAssertEqual(estimate.maxOutputTokens, 16_384)
        XCTAssertTrue(estimate.assumptions.contains("output at the model's maximum of 16384 tokens"))
    }

    func testChatMessagesAddFraming() {
        // 2 messages of 10 tokens + 2 × 3 + 3 = 29 input tokens.
        // claude-haiku-4-5: 29 × 1/1M = 0.000029; 100 × 5/1M = 0.0005 → 0.000529
        let estimate = estimator.estimate(.text(input: .messages(["0123456789", "abcdefghij"]), maxOutputTokens: 100),
                                          provider: "anthropic", model: "claude-haiku-4-5")
        XCTAssertEqual(estimate.inputTokens?.count, 29)
        assertQuote(estimate, "0.000529")
    }

    func testLongPromptsQuoteAtTheLongContextPrice() {
        // gpt-5.5: 300,000 given tokens > 272k → 10.00/1M = 3.00; output at its tier 1,000 × 45/1M = 0.045 → 3.045
        let estimate = estimator.estimate(.text(input: .tokens(300_000, kind: .exact), maxOutputTokens: 1_000),
                                          provider: "openai", model: "gpt-5.5")
        assertQuote(estimate, "3.045")
    }

    func testImagesBySizeAndQualityWithAutoAtTheDearest() {
        // gpt-image-1 2 × 1024x1024 high × 0.167 = 0.334 (quote-only prices are used to quote)
        assertQuote(estimator.estimate(.images(count: 2, size: "1024x1024", quality: "high", resolution: nil),
                                       provider: "openai", model: "gpt-image-1"), "0.334")
        // quality auto → high (0.167)
        let auto = estimator.estimate(.images(count: 1, size: "1024x1024", quality: "auto", resolution: nil),
                                      provider: "openai", model: "gpt-image-1")
        assertQuote(auto, "0.167")
        XCTAssertEqual(auto.assumptions.count, 1)
        // size and quality auto → the dearest of all: 0.25
        assertQuote(estimator.estimate(.images(count: 1, size: "auto", quality: "auto", resolution: nil),
                                       provider: "openai", model: "gpt-image-1"), "0.25")
        // Runway gen4_image 720p × 3 = 0.15
        assertQuote(estimator.estimate(.images(count: 3, size: nil, quality: nil, resolution: "720p"),
                                       provider: "runway", model: "gen4_image"), "0.15")
        // Without the quality gpt-image-1 needs: unpriced, quality missing.
        let missing = estimator.estimate(.images(count: 1, size: "1024x1024", quality: nil, resolution: nil),
                                         provider: "openai", model: "gpt-image-1")
        XCTAssertEqual(missing.breakdown.status, .unpriced)
        XCTAssertEqual(missing.breakdown.missing.first?.missingKeys, [.quality])
    }

    func testMegapixelImages() {
        // flux/dev landscape_4_3 = 1024×768 → 1 MP each; 2 × 0.025 = 0.05
        assertQuote(estimator.estimate(.images(count: 2, size: "landscape_4_3", quality: nil, resolution: nil),
                                       provider: "fal", model: "fal-ai/flux/dev"), "0.05")
        // 1440x1440 → 2 MP each; 3 × 2 × 0.025 = 0.15
        assertQuote(estimator.estimate(.images(count: 3, size: "1440x1440", quality: nil, resolution: nil),
                                       provider: "fal", model: "fal-ai/flux/dev"), "0.15")
        let noSize = estimator.estimate(.images(count: 1, size: nil, quality: nil, resolution: nil),
                                        provider: "fal", model: "fal-ai/flux/dev")
        XCTAssertEqual(noSize.breakdown.status, .unpriced)
    }

    func testVideoBySecondsTierAndCount() {
        // Veo 3.1 8 s 1080p × 2 samples × 0.40 = 6.40
        assertQuote(estimator.estimate(.video(seconds: 8, resolution: "1080p", audio: nil, count: 2),
                                       provider: "veo", model: "veo-3.1-generate-001"), "6.40")
        // Runway veo3.1 with audio 8 s × 0.40 = 3.20; without 8 × 0.20 = 1.60
        assertQuote(estimator.estimate(.video(seconds: 8, resolution: nil, audio: true, count: 1),
                                       provider: "runway", model: "veo3.1"), "3.20")
        assertQuote(estimator.estimate(.video(seconds: 8, resolution: nil, audio: false, count: 1),
                                       provider: "runway", model: "veo3.1"), "1.60")
        // Veo without a resolution: unpriced.
        XCTAssertEqual(estimator.estimate(.video(seconds: 8, resolution: nil, audio: nil, count: 1),
                                          provider: "veo", model: "veo-3.1-generate-001").breakdown.status, .unpriced)
    }

    func testSpeechByCharacters() {
        // tts-1 "hello" = 5 characters: 0.005 × 0.015 = 0.000075
        assertQuote(estimator.estimate(.speech(text: "hello"), provider: "openai", model: "tts-1"), "0.000075")
        // ElevenLabs multilingual, 1,000 characters (scalars, é included): 1 × 0.08 = 0.08
        let text = String(repeating: "é", count: 1_000)
        assertQuote(estimator.estimate(.speech(text: text), provider: "elevenlabs", model: "eleven_multilingual_v2"), "0.08")
    }

    func testProviderReportedModelsAreQuotedFromPassThroughPrices() {
        // openrouter openai/gpt-4o: 1,000 × 2.50/1M + 1,000 × 10/1M = 0.0125
        let quote = estimator.estimate(.text(input: .tokens(1_000, kind: .estimated), maxOutputTokens: 1_000),
                                       provider: "openrouter", model: "openai/gpt-4o")
        assertQuote(quote, "0.0125")
        XCTAssertTrue(quote.breakdown.lines.allSatisfy(\.estimateOnly))
        // An OpenRouter model without pass-through prices cannot be quoted.
        let unknown = estimator.estimate(.text(input: .tokens(1_000, kind: .estimated), maxOutputTokens: 1_000),
                                         provider: "openrouter", model: "meta-llama/llama-3.1-70b")
        XCTAssertEqual(unknown.breakdown.status, .unpriced)
        XCTAssertNil(unknown.breakdown.total)
    }

    func testLocalIsFreeAndUnknownIsUnpriced() {
        assertQuote(estimator.estimate(.speech(text: "hello"), provider: "local", model: "espeak-ng"), "0", .free)
        let unknown = estimator.estimate(.speech(text: "hello"), provider: "openai", model: "tts-9")
        XCTAssertEqual(unknown.breakdown.missing.map(\.reason), [.unknownModel])
    }

    func testUnknownMaximumOutputIsUnpriced() throws {
        let pricing = try PricingCatalog.load(TestCatalog.document(models: """
        [{"provider": "acme", "model": "chat", "mode": "priced", "source": "s", "prices": [
            {"unit": "input_token", "per": 1000000, "price": "1.00"}, {"unit": "output_token", "per": 1000000, "price": "2.00"}]}]
        """))
        let estimate = CostEstimator(pricing: pricing, tokenCounter: CharacterTokenCounter())
            .estimate(.text(input: .text("hi"), maxOutputTokens: nil), provider: "acme", model: "chat")
        XCTAssertEqual(estimate.breakdown.status, .unpriced)
        XCTAssertEqual(estimate.breakdown.missing.map(\.reason), [.maxOutputTokensUnknown])
    }

    func testWithoutAVocabularyTheCountIsABoundMarkedEstimated() {
        let counter = ModelTokenCounter(cl100k: nil)
        let ascii = counter.countTokens(String(repeating: "word ", count: 100), provider: "openai", model: "gpt-4")
        XCTAssertEqual(ascii.count, 500)  // one token per UTF-8 byte at most (TokenUpperBound)
        XCTAssertEqual(ascii.kind, .estimated)
        XCTAssertEqual(counter.countTokens("漢字漢字", provider: "openai", model: "gpt-4").count, 12)
        XCTAssertEqual(ModelTokenCounter.encoding(provider: "openai", model: "gpt-4"), "cl100k_base")
        XCTAssertEqual(ModelTokenCounter.encoding(provider: "openai", model: "gpt-4-turbo"), "cl100k_base")
        XCTAssertEqual(ModelTokenCounter.encoding(provider: "openai", model: "gpt-3.5-turbo-0125"), "cl100k_base")
        XCTAssertEqual(ModelTokenCounter.encoding(provider: "openai", model: "gpt-4o-mini"), "o200k_base")
        XCTAssertEqual(ModelTokenCounter.encoding(provider: "openai", model: "gpt-4.1"), "o200k_base")
        XCTAssertEqual(ModelTokenCounter.encoding(provider: "openai", model: "o3"), "o200k_base")
        XCTAssertEqual(ModelTokenCounter.encoding(provider: "openrouter", model: "openai/gpt-5"), "o200k_base")
        XCTAssertEqual(ModelTokenCounter.encoding(provider: "anthropic", model: "claude-sonnet-4-5"), "unpublished")
        XCTAssertEqual(ModelTokenCounter.encoding(provider: "elevenlabs", model: "eleven_v3"), "unknown")
    }

    func testRealCounterIsExactOnlyForCl100kModels() throws {
        let counter = ModelTokenCounter(cl100k: try TokenTestEnvironment.tokenizer())
        XCTAssertEqual(counter.countTokens("hello world", provider: "openai", model: "gpt-4"),
                       TokenCount(count: 2, kind: .exact, modelEncoding: "cl100k_base", countedWith: "cl100k_base"))
        XCTAssertEqual(counter.countTokens("hello world", provider: "openai", model: "gpt-4o").kind, .estimated)
        XCTAssertEqual(counter.countTokens("hello world", provider: "anthropic", model: "claude-opus-4-5").kind, .estimated)
    }
}

/// Every unit the calculator knows, on a synthetic catalog with one price per unit.
final class EveryUnitTests: XCTestCase {
    func testEveryUnitIsPricedByItsOwnRow() throws {
        let tokenUnits = PriceUnit.allCases.filter(\.isToken)
        let otherUnits = PriceUnit.allCases.filter { !$0.isToken }
        // Token units: 1.00 per 1M, the others 0.01 per unit (characters_1k: per 1,000 characters).
        let prices = tokenUnits.map { #"{"unit": "\#($0.rawValue)", "per": 1000000, "price": "1.00"}"# }
            + otherUnits.map { #"{"unit": "\#($0.rawValue)", "price": "0.01"}"# }
        let pricing = try PricingCatalog.load(TestCatalog.document(models: """
        [{"provider": "acme", "model": "all", "mode": "priced", "source": "s", "prices": [\(prices.joined(separator: ","))]}]
        """))
        let usage = Usage(
            inputTokens: 1_000_000, cachedInputReadTokens: 1_000_000, cachedInputWriteTokens: 1_000_000,
            cachedInputWriteOneHourTokens: 1_000_000, cachedInputWriteTwelveHourTokens: 1_000_000, outputTokens: 1_000_000,
            imageInputTokens: 1_000_000,
            imageOutputTokens: 1_000_000, audioInputTokens: 1_000_000, audioOutputTokens: 1_000_000,
            images: [ImageQuantity(count: 2)], video: [VideoQuantity(seconds: 3)], characters: 4_000,
            megapixels: 5, requests: 6, credits: 7
        )
        let breakdown = CostCalculator.cost(of: usage, provider: "acme", model: "all", pricing: pricing)
        XCTAssertEqual(Set(breakdown.lines.compactMap(\.unit)), Set(PriceUnit.allCases))
        // 10 token units × 1,000,000 × 1.00/1M = 10.00; images 2 × 0.01, video 3 × 0.01, characters 4 × 0.01,
        // megapixels 5 × 0.01, requests 6 × 0.01, credits 7 × 0.01 → 0.27; total 10.27
        XCTAssertEqual(breakdown.total, TestCatalog.money("10.27"))
        XCTAssertEqual(breakdown.lines.first { $0.unit == .characters1k }?.quantity, 4)
    }
}

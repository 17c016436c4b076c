import Foundation
import XCTest
@testable import Domain

/// Hand-computed costs on the shipped catalog: every unit, every tier boundary exactly at and
/// one above, cached tokens counted once, and 10^10-token magnitudes, all exact.
final class CostUnitTests: XCTestCase {
    private var catalog: PricingVersion!

    override func setUpWithError() throws {
        catalog = try TestCatalog.load()
    }

    private func total(_ usage: Usage, _ provider: String, _ model: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        let breakdown = CostCalculator.cost(of: usage, provider: provider, model: model, pricing: catalog)
        XCTAssertEqual(breakdown.total.map { Money.sum(breakdown.lines.map(\.subtotal)) == $0 }, true, "lines add up", file: file, line: line)
        return breakdown.total?.jsonString
    }

    func testLongContextTiersOfGPT54ExactlyAtAndOneAbove272k() {
        // At 272,000 prompt tokens (200,000 uncached + 72,000 cached): base prices.
        // 200,000 × 2.50/1M = 0.50; 72,000 × 0.25/1M = 0.018; 10,000 × 15.00/1M = 0.15 → 0.668
        XCTAssertEqual(total(Usage(inputTokens: 200_000, cachedInputReadTokens: 72_000, outputTokens: 10_000), "openai", "gpt-5.4"), "0.668")
        // One above: every token of the request at the tier. 200,001 × 5.00/1M = 1.000005;
        // 72,000 × 0.50/1M = 0.036; 10,000 × 22.50/1M = 0.225 → 1.261005
        XCTAssertEqual(total(Usage(inputTokens: 200_001, cachedInputReadTokens: 72_000, outputTokens: 10_000), "openai", "gpt-5.4"), "1.261005")
    }

    func testLongContextTiersOfGPT55ExactlyAtAndOneAbove272k() {
        // 272,000 × 5.00/1M = 1.36; 1,000 × 30.00/1M = 0.03 → 1.39
        XCTAssertEqual(total(Usage(inputTokens: 272_000, outputTokens: 1_000), "openai", "gpt-5.5"), "1.39")
        // 272,000 × 10.00/1M = 2.72; 1 cached × 1.00/1M = 0.000001; 1,000 × 45.00/1M = 0.045 → 2.765001
        XCTAssertEqual(total(Usage(inputTokens: 272_000, cachedInputReadTokens: 1, outputTokens: 1_000), "openai", "gpt-5.5"), "2.765001")
    }

    func testCachedTokensAreCountedOnceAndReasoningIsInsideOutput() throws {
        // OpenAI reports 1,000,000 prompt tokens of which 400,000 cached, 10,000 completion tokens of which 5,000 reasoning.
        var usage = try Usage.openAIChat(promptTokens: 1_000_000, cachedTokens: 400_000, completionTokens: 10_000)
        usage.reasoningTokens = 5_000
        // 600,000 × 2.50/1M = 1.50; 400,000 × 1.25/1M = 0.50; 10,000 × 10.00/1M = 0.10 → 2.10 (not 3.10, not 2.15)
        XCTAssertEqual(total(usage, "openai", "gpt-4o"), "2.10")
        usage.reasoningTokens = 10_001
        XCTAssertEqual(usage.validationErrors.map(\.field), ["reasoning_tokens"], "reasoning is part of output, never more")
    }

    func testTenBillionTokenMagnitudesAreExact() {
        let ten = 10_000_000_000
        // gpt-4o: 10^10 × 2.50/1M = 25,000; 10^10 × 1.25/1M = 12,500; 10^10 × 10.00/1M = 100,000 → 137,500
        XCTAssertEqual(total(Usage(inputTokens: ten, cachedInputReadTokens: ten, outputTokens: ten), "openai", "gpt-4o"), "137500.00")
        // 9,999,999,999 × 2.50/1M = 24,999.9999975 and × 10.00/1M = 99,999.99999 → 124,999.9999875
        XCTAssertEqual(total(Usage(inputTokens: ten - 1, outputTokens: ten - 1), "openai", "gpt-4o"), "124999.9999875")
        // gpt-5.5 far above the tier: 10^10 × 10.00/1M = 100,000; 10^10 × 45.00/1M = 450,000 → 550,000
        XCTAssertEqual(total(Usage(inputTokens: ten, outputTokens: ten), "openai", "gpt-5.5"), "550000.00")
    }

    func testAnthropicCacheWritesByTTLAndReads() {
        // claude-opus-4-6: 1,000 × 5.00 + 2,000 × 6.25 (5-minute write) + 3,000 × 10.00 (1-hour write)
        // + 4,000 × 0.50 (read) + 500 × 25.00, all /1M = 0.005 + 0.0125 + 0.03 + 0.002 + 0.0125 = 0.062
        let usage = Usage(inputTokens: 1_000, cachedInputReadTokens: 4_000, cachedInputWriteTokens: 2_000,
                          cachedInputWriteOneHourTokens: 3_000, outputTokens: 500)
        XCTAssertEqual(total(usage, "anthropic", "claude-opus-4-6"), "0.062")
    }

    func testImageTokensImagesBySizeAndQualityAndMegapixels() {
        // gpt-image-2 by tokens: 100 × 5.00 + 1,000 × 8.00 + 4,160 × 30.00, /1M = 0.0005 + 0.008 + 0.1248 = 0.1333;
        // the image made is informational (its per-image price quotes only).
        let tokens = Usage.openAIImages(textInputTokens: 100, imageInputTokens: 1_000, imageOutputTokens: 4_160,
                                        images: [ImageQuantity(count: 1, size: "1024x1024", quality: "high")])
        XCTAssertEqual(total(tokens, "openai", "gpt-image-2"), "0.1333")
        // gpt-image-1.5 per image: 2 × 0.20 (1024x1536 high) + 3 × 0.009 (1024x1024 low) = 0.427
        let images = Usage(images: [ImageQuantity(count: 2, size: "1024x1536", quality: "high"),
                                    ImageQuantity(count: 3, size: "1024x1024", quality: "low")])
        XCTAssertEqual(total(images, "openai", "gpt-image-1.5"), "0.427")
        // FLUX dev: 3 billable megapixels × 0.025 = 0.075
        XCTAssertEqual(total(Usage(megapixels: 3), "fal", "fal-ai/flux/dev"), "0.075")
    }

    func testVideoSecondsByResolutionAndCountWithMinimums() {
        // Veo 3.1 Fast: 8 s × 2 clips at 1080p × 0.12 = 1.92; 8 s × 1 at 4k × 0.30 = 2.40 → 4.32
        let veo = Usage(video: [VideoQuantity(seconds: 8, resolution: "1080p", count: 2), VideoQuantity(seconds: 8, resolution: "4k")])
        XCTAssertEqual(total(veo, "veo", "veo-3.1-fast-generate-001"), "4.32")
        // Runway aleph2: 1 s is billed as its 2-second minimum × 0.28 = 0.56
        XCTAssertEqual(total(Usage(video: [VideoQuantity(seconds: 1)]), "runway", "aleph2"), "0.56")
        // Without the resolution the Veo price is unknown, never guessed.
        let missing = CostCalculator.cost(of: Usage(video: [VideoQuantity(seconds: 8)]), provider: "veo",
                                          model: "veo-3.1-fast-generate-001", pricing: catalog)
        XCTAssertEqual(missing.status, .unpriced)
        XCTAssertEqual(missing.missing.map(\.missingKeys), [[.resolution]])
    }

    func testCharactersAndCredits() {
        // tts-1: 1,234 characters = 1.234 thousand × 0.015 = 0.01851
        XCTAssertEqual(total(Usage(characters: 1_234), "openai", "tts-1"), "0.01851")
        // Runway credits: 56 × 0.01 = 0.56; ElevenLabs credits: 1,500 × 0.08/1000 = 0.12
        XCTAssertEqual(total(Usage(credits: 56), "runway", "gen4_turbo"), "0.56")
        XCTAssertEqual(total(Usage(credits: 1_500), "elevenlabs", "eleven_v3"), "0.12")
    }

    func testAWildcardResolutionPricesOnlyResolutionsWithoutTheirOwnRow() throws {
        let pricing = try PricingCatalog.load(TestCatalog.document(models: """
        [{"provider": "veo", "model": "v", "mode": "priced", "source": "s", "prices": [
          {"unit": "video_second", "price": "0.40", "dimension": {"resolution": "*"}},
          {"unit": "video_second", "price": "0.60", "dimension": {"resolution": "4k"}}]}]
        """))
        func cost(_ resolution: String?) -> Money? {
            CostCalculator.cost(of: Usage(video: [VideoQuantity(seconds: 10, resolution: resolution)]), provider: "veo", model: "v",
                                pricing: pricing).total
        }
        XCTAssertEqual(cost("4k"), TestCatalog.money("6.00"))
        XCTAssertEqual(cost("1080p"), TestCatalog.money("4.00"))
        XCTAssertNil(cost(nil), "a request without a resolution is unpriced, not priced at the wildcard")
    }

    /// A row's cost multiplies by 1/per instead of dividing by per: for every allowed per, the
    /// same Money as the division gives, at prices with all 10 decimals and quantities from a
    /// fraction to billions (CostPropertyTests checks whole usages against integer arithmetic).
    func testARowsCostIsTheExactQuotientForEveryAllowedPer() throws {
        let prices = ["0.0000000001", "0.15", "2.5", "37.1234567891", "999999.9999999999"]
        let quantities: [Decimal] = [0, 1, 7, Decimal(string: "0.001")!, Decimal(string: "12.345")!, 999_999, 2_000_000, 4_294_967_297]
        var compared = 0
        for per in PricingValidation.allowedPer.sorted() {
            for price in prices {
                let row = PriceRow(provider: "openai", model: "m", unit: .inputToken, price: TestCatalog.money(price), per: per,
                                   effectiveFrom: "2026-11-24", source: "test", confidence: .verified)
                for quantity in quantities {
                    XCTAssertEqual(row.cost(of: quantity), Money(roundingToMaximumScale: row.price.amount * quantity / Decimal(per)),
                                   "\(price) × \(quantity) / \(per)")
                    compared += 1
                }
            }
        }
        XCTAssertEqual(compared, 3 * 5 * 8)
        let value = Decimal(string: "37.1234567891")!
        XCTAssertEqual(PriceRow.divide(value, by: 7), value / 7, "a per outside the allowed ones still divides")
    }
}

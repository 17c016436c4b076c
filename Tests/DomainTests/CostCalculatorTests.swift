import Foundation
import XCTest
@testable import Domain

/// Costs against the shipped catalog, each computed by hand in the comment above it.
final class CostCalculatorTests: XCTestCase {
    var catalog: PricingVersion!

    override func setUpWithError() throws {
        catalog = try TestCatalog.load()
    }

    private func cost(_ usage: Usage, _ provider: String, _ model: String) -> CostBreakdown {
        CostCalculator.cost(of: usage, provider: provider, model: model, pricing: catalog)
    }

    private func assertTotal(_ breakdown: CostBreakdown, _ expected: String, _ status: CostStatus = .priced,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(breakdown.status, status, "missing: \(breakdown.missing)", file: file, line: line)
        XCTAssertEqual(breakdown.total, TestCatalog.money(expected), file: file, line: line)
        XCTAssertEqual(breakdown.total, Money.sum(breakdown.lines.map(\.subtotal)), "total is the sum of the lines", file: file, line: line)
    }

    // MARK: OpenAI

    func testOpenAIChatChargesCachedTokensOnceAtTheCachedPrice() throws {
        // prompt_tokens 1200 of which cached 200 → 1000 uncached + 200 cached; completion 300.
        // 1000 × 2.50/1M = 0.0025; 200 × 1.25/1M = 0.00025; 300 × 10.00/1M = 0.003 → 0.00575
        let usage = try Usage.openAIChat(promptTokens: 1200, cachedTokens: 200, completionTokens: 300)
        XCTAssertEqual(usage.inputTokens, 1000)
        let breakdown = cost(usage, "openai", "gpt-4o")
        assertTotal(breakdown, "0.00575")
        XCTAssertEqual(breakdown.lines.map(\.unit), [.inputToken, .cachedInputTokenRead, .outputToken])
        XCTAssertEqual(breakdown.lines.map(\.subtotal), ["0.0025", "0.00025", "0.003"].map(TestCatalog.money))
        XCTAssertEqual(breakdown.pricingVersionId, "2026-12-01.2")
    }

    func testOpenAILongContextTier() throws {
        // gpt-5.4, 300,000 prompt tokens (> 272k) of which 100,000 cached; 1,000 output.
        // Every price at its tier: input 200,000 × 5.00/1M = 1.00; cached 100,000 × 0.50/1M = 0.05;
        // output 1,000 × 22.50/1M = 0.0225 → 1.0725
        let usage = try Usage.openAIChat(promptTokens: 300_000, cachedTokens: 100_000, completionTokens: 1_000)
        assertTotal(cost(usage, "openai", "gpt-5.4"), "1.0725")
        // Exactly 272,000 prompt tokens is not above the threshold, so the base price applies:
        // 200,000 × 2.50/1M = 0.5; 72,000 × 0.25/1M = 0.018; 1,000 × 15/1M = 0.015 → 0.533
        let small = try Usage.openAIChat(promptTokens: 272_000, cachedTokens: 72_000, completionTokens: 1_000)
        assertTotal(cost(small, "openai", "gpt-5.4"), "0.533")
    }

    func testOpenAIReasoningModelAndSnapshotName() throws {
        // o4-mini via its dated id: 10,000 in × 1.10/1M = 0.011; 5,000 out (reasoning included) × 4.40/1M = 0.022 → 0.033
        let usage = try Usage.openAIChat(promptTokens: 10_000, completionTokens: 5_000)
        assertTotal(cost(usage, "openai", "o4-mini-2025-04-16"), "0.033")
    }

    func testOpenAIImagesByTokensWithImagesInformational() {
        // gpt-image-1: 50 text-in × 5/1M = 0.00025; 500 image-in × 10/1M = 0.005; 1056 image-out × 40/1M = 0.04224
        // → 0.04749; the image count is informational (its per-image price only quotes).
        let usage = Usage.openAIImages(textInputTokens: 50, imageInputTokens: 500, imageOutputTokens: 1056,
                                       images: [ImageQuantity(count: 1, size: "1024x1024", quality: "medium")])
        let breakdown = cost(usage, "openai", "gpt-image-1")
        assertTotal(breakdown, "0.04749")
        XCTAssertFalse(breakdown.lines.contains { $0.unit == .image })
        // gpt-image-2: 50 × 5/1M = 0.00025; 4160 × 30/1M = 0.1248 → 0.12505
        let two = Usage.openAIImages(textInputTokens: 50, imageInputTokens: 0, imageOutputTokens: 4160, images: [])
        assertTotal(cost(two, "openai", "gpt-image-2"), "0.12505")
    }

    func testOpenAIImagesPricedPerImage() {
        // gpt-image-1-mini: 2 × 1024x1536 medium × 0.015 = 0.03; reported tokens are informational.
        let usage = Usage.openAIImages(textInputTokens: 40, imageInputTokens: 0, imageOutputTokens: 1584,
                                       images: [ImageQuantity(count: 2, size: "1024x1536", quality: "medium")])
        assertTotal(cost(usage, "openai", "gpt-image-1-mini"), "0.03")
        // gpt-image-1.5: 1 × 1024x1024 high 0.133 + 3 × 1536x1024 low 0.013 = 0.133 + 0.039 = 0.172
        let mixed = Usage(images: [ImageQuantity(count: 1, size: "1024x1024", quality: "high"),
                                   ImageQuantity(count: 3, size: "1536x1024", quality: "low")])
        assertTotal(cost(mixed, "openai", "gpt-image-1.5"), "0.172")
        // gpt-image-1-mini high is not in the catalog: unpriced, never $0.
        let high = cost(Usage(images: [ImageQuantity(count: 1, size: "1024x1024", quality: "high")]), "openai", "gpt-image-1-mini")
        XCTAssertEqual(high.status, .unpriced)
        XCTAssertNil(high.total)
        XCTAssertEqual(high.missing, [MissingPrice(unit: .image, dimension: PriceDimension(size: "1024x1024", quality: "high"), reason: .noMatchingDimension)])
    }

    func testOpenAISpeechByCharacters() {
        // tts-1: 1,234 characters = 1.234 × 0.015 = 0.01851
        assertTotal(cost(Usage(characters: 1_234), "openai", "tts-1"), "0.01851")
        // tts-1-hd: 1,234 × 0.030/1k = 0.03702
        assertTotal(cost(Usage(characters: 1_234), "openai", "tts-1-hd"), "0.03702")
        // gpt-4o-mini-tts (derived rate): 2,500 characters = 2.5 × 0.020 = 0.05
        let derived = cost(Usage(characters: 2_500), "openai", "gpt-4o-mini-tts-2025-12-15")
        assertTotal(derived, "0.05")
        XCTAssertEqual(derived.lines.first?.confidence, .unverified)
    }

    // MARK: Anthropic

    func testAnthropicCacheReadsAndWritesAreSeparateFromInput() throws {
        // claude-sonnet-4-5: input 100 × 3/1M = 0.0003; 5m write 1,000 × 3.75/1M = 0.00375;
        // 1h write 500 × 6/1M = 0.003; read 2,000 × 0.30/1M = 0.0006; output 400 × 15/1M = 0.006 → 0.01365
        let usage = try Usage.anthropic(inputTokens: 100, cacheCreationInputTokens: 1_500, cacheReadInputTokens: 2_000,
                                        outputTokens: 400, ephemeral1hInputTokens: 500)
        XCTAssertEqual(usage.cachedInputWriteTokens, 1_000)
        XCTAssertEqual(usage.promptTokens, 3_600)
        let breakdown = cost(usage, "anthropic", "claude-sonnet-4-5-20250929")
        assertTotal(breakdown, "0.01365")
        XCTAssertEqual(breakdown.lines.count, 5)
        // claude-haiku-4-5: 2,000 × 1/1M = 0.002; 1,000 × 5/1M = 0.005 → 0.007
        assertTotal(cost(try Usage.anthropic(inputTokens: 2_000, outputTokens: 1_000), "anthropic", "claude-haiku-4-5"), "0.007")
        // claude-opus-4-5: read 10,000 × 0.50/1M = 0.005; 100 × 5/1M = 0.0005; 100 × 25/1M = 0.0025 → 0.008
        assertTotal(cost(try Usage.anthropic(inputTokens: 100, cacheReadInputTokens: 10_000, outputTokens: 100), "anthropic", "claude-opus-4-5"), "0.008")
    }

    func testClaude5PricesAreTheModelPagesOwn() throws {
        // 1,000 input, 3,000 written (1,000 of them for 1 hour), 10,000 read, 500 output.
        let usage = try Usage.anthropic(inputTokens: 1_000, cacheCreationInputTokens: 3_000, cacheReadInputTokens: 10_000,
                                        outputTokens: 500, ephemeral1hInputTokens: 1_000)
        // claude-sonnet-5: 1,000 × 2/1M = 0.002; 5m write 2,000 × 2.50/1M = 0.005; 1h write 1,000 × 4/1M = 0.004;
        // read 10,000 × 0.20/1M = 0.002; output 500 × 10/1M = 0.005 → 0.018
        let sonnet = cost(usage, "anthropic", "claude-sonnet-5")
        assertTotal(sonnet, "0.018")
        // claude-opus-5: 1,000 × 5/1M = 0.005; 2,000 × 6.25/1M = 0.0125; 1,000 × 10/1M = 0.01;
        // 10,000 × 0.50/1M = 0.005; 500 × 25/1M = 0.0125 → 0.045
        let opus = cost(usage, "anthropic", "claude-opus-5")
        assertTotal(opus, "0.045")
        // Both are stated on Anthropic's own model pages, so every line is verified.
        XCTAssertEqual(sonnet.lines.count, 5)
        XCTAssertEqual(Set(sonnet.lines.map(\.confidence) + opus.lines.map(\.confidence)), [.verified])
    }

    func testInconsistentProviderUsageIsRejected() {
        XCTAssertThrowsError(try Usage.openAIChat(promptTokens: 10, cachedTokens: 11, completionTokens: 0))
        XCTAssertThrowsError(try Usage.anthropic(inputTokens: 1, cacheCreationInputTokens: 5, outputTokens: 1, ephemeral1hInputTokens: 6))
        XCTAssertThrowsError(try Usage.anthropic(inputTokens: -1, outputTokens: 1))
    }

    // MARK: OpenRouter

    func testOpenRouterChargesWhatItReports() throws {
        // usage.cost 0.0000047 → exactly that, whatever the tokens.
        let reported = try Usage.openRouter(promptTokens: 19, completionTokens: 3, cost: try Money(jsonNumberLiteral: "4.7e-06"))
        let breakdown = cost(reported, "openrouter", "openai/gpt-4o-mini")
        assertTotal(breakdown, "0.0000047", .providerReported)
        XCTAssertEqual(breakdown.lines.count, 1)
        XCTAssertNil(breakdown.lines[0].unit)
        // No usage.cost: unpriced, not free and not guessed from prices.
        let missing = cost(try Usage.openRouter(promptTokens: 19, completionTokens: 3, cost: nil), "openrouter", "openai/gpt-4o-mini")
        XCTAssertEqual(missing.status, .unpriced)
        XCTAssertNil(missing.total)
        XCTAssertEqual(missing.missing.map(\.reason), [.providerCostMissing])
    }

    // MARK: ElevenLabs

    func testElevenLabsByCharactersOrByReportedCredits() {
        // multilingual v2: 1,500 characters = 1.5 × 0.08 = 0.12
        assertTotal(cost(Usage.elevenLabs(characters: 1_500, creditsCharged: nil), "elevenlabs", "eleven_multilingual_v2"), "0.12")
        // flash v2.5: 1.5 × 0.04 = 0.06
        assertTotal(cost(Usage.elevenLabs(characters: 1_500, creditsCharged: nil), "elevenlabs", "eleven_flash_v2_5"), "0.06")
        // character-cost 750 credits: 750 × 0.08/1000 = 0.06 (characters not also billed)
        let credits = cost(Usage.elevenLabs(characters: 1_500, creditsCharged: 750), "elevenlabs", "eleven_flash_v2_5")
        assertTotal(credits, "0.06")
        XCTAssertEqual(credits.lines.map(\.unit), [.credit])
    }

    // MARK: Runway

    func testRunwayPerSecondAudioMinimumImagesAndCredits() {
        // gen4_turbo 10 s × 0.05 = 0.50
        assertTotal(cost(Usage.runway(seconds: 10, creditsCharged: nil), "runway", "gen4_turbo"), "0.50")
        // gen4.5 5 s × 0.12 = 0.60
        assertTotal(cost(Usage.runway(seconds: 5, creditsCharged: nil), "runway", "gen4.5"), "0.60")
        // veo3.1 8 s with audio × 0.40 = 3.20; without × 0.20 = 1.60
        assertTotal(cost(Usage.runway(seconds: 8, audio: "on", creditsCharged: nil), "runway", "veo3.1"), "3.20")
        assertTotal(cost(Usage.runway(seconds: 8, audio: "off", creditsCharged: nil), "runway", "veo3.1"), "1.60")
        // veo3.1_fast 6 s with audio × 0.15 = 0.90
        assertTotal(cost(Usage.runway(seconds: 6, audio: "on", creditsCharged: nil), "runway", "veo3.1_fast"), "0.90")
        // veo3.1 without saying whether audio was on: unpriced, audio missing.
        let unknownAudio = cost(Usage.runway(seconds: 8, creditsCharged: nil), "runway", "veo3.1")
        XCTAssertEqual(unknownAudio.missing, [MissingPrice(unit: .videoSecond, reason: .missingDimension, missingKeys: [.audio])])
        // aleph2 1 s, minimum 2 s: 2 × 0.28 = 0.56
        let aleph = cost(Usage.runway(seconds: 1, creditsCharged: nil), "runway", "aleph2")
        assertTotal(aleph, "0.56")
        XCTAssertEqual(aleph.lines.first?.billedQuantity, 2)
        // gen4_image 2 × 1080p × 0.08 = 0.16; turbo 3 × 0.02 = 0.06
        assertTotal(cost(Usage(images: [ImageQuantity(count: 2, resolution: "1080p")]), "runway", "gen4_image"), "0.16")
        assertTotal(cost(Usage(images: [ImageQuantity(count: 3)]), "runway", "gen4_image_turbo"), "0.06")
        // A task reporting 25 credits: 25 × 0.01 = 0.25
        assertTotal(cost(Usage.runway(seconds: 5, creditsCharged: 25), "runway", "gen4_turbo"), "0.25")
    }

    // MARK: Veo

    func testVeoPerSecondByResolutionAndSampleCount() {
        // veo-3.1: 8 s × 1080p 0.40 × 2 samples = 6.40
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 8, resolution: "1080p", count: 2)]), "veo", "veo-3.1-generate-001"), "6.40")
        // veo-3.1 preview 4k: 8 × 0.60 = 4.80
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 8, resolution: "4k")]), "veo", "veo-3.1-generate-preview"), "4.80")
        // fast 720p 6 s × 0.10 = 0.60; fast 1080p 8 s × 0.12 = 0.96
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 6, resolution: "720p")]), "veo", "veo-3.1-fast-generate-001"), "0.60")
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 8, resolution: "1080p")]), "veo", "veo-3.1-fast-generate-001"), "0.96")
        // lite 1080p 8 s × 0.08 = 0.64
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 8, resolution: "1080p")]), "veo", "veo-3.1-lite-generate-001"), "0.64")
        // 3.0 (unverified rate) 720p 4 s × 0.40 = 1.60; 3.0 fast 8 s × 0.10 = 0.80
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 4, resolution: "720p")]), "veo", "veo-3.0-generate-001"), "1.60")
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 8, resolution: "720p")]), "veo", "veo-3.0-fast-generate-001"), "0.80")
        // 3.0 fast 1080p (LiteLLM's Vertex rate, unverified) 8 s × 0.12 = 0.96
        let fast1080 = cost(Usage(video: [VideoQuantity(seconds: 8, resolution: "1080p")]), "veo", "veo-3.0-fast-generate-001")
        assertTotal(fast1080, "0.96")
        XCTAssertEqual(fast1080.lines.first?.confidence, .unverified)
        // 3.0 has no 4k price: unpriced.
        XCTAssertEqual(cost(Usage(video: [VideoQuantity(seconds: 8, resolution: "4k")]), "veo", "veo-3.0-generate-001").status, .unpriced)
    }

    // MARK: FAL

    func testFALMegapixelsImagesAndVideo() throws {
        // flux/dev 1440×1440 = 2,073,600 px → ceil(/1,048,576) = 2 MP; 1024×768 → 1 MP; 3 MP × 0.025 = 0.075
        XCTAssertEqual(Megapixels.billable(width: 1440, height: 1440), 2)
        XCTAssertEqual(Megapixels.billable(width: 1024, height: 1024), 1)
        XCTAssertEqual(Megapixels.billable(width: 1025, height: 1024), 2)
        let megapixels = try XCTUnwrap(Megapixels.billable(images: [(1440, 1440), (1024, 768)]))
        assertTotal(cost(Usage(megapixels: Decimal(megapixels)), "fal", "fal-ai/flux/dev"), "0.075")
        // schnell 4 MP × 0.003 = 0.012
        assertTotal(cost(Usage(megapixels: 4), "fal", "fal-ai/flux/schnell"), "0.012")
        // flux-pro v1.1 3 images × 0.04 = 0.12; ultra 1 × 0.06; nano-banana 2 × 0.039 = 0.078; imagen4 1 × 0.0398
        assertTotal(cost(Usage(images: [ImageQuantity(count: 3)]), "fal", "fal-ai/flux-pro/v1.1"), "0.12")
        assertTotal(cost(Usage(images: [ImageQuantity(count: 1)]), "fal", "fal-ai/flux-pro/v1.1-ultra"), "0.06")
        assertTotal(cost(Usage(images: [ImageQuantity(count: 2)]), "fal", "fal-ai/nano-banana"), "0.078")
        assertTotal(cost(Usage(images: [ImageQuantity(count: 1)]), "fal", "fal-ai/imagen4/preview"), "0.0398")
        // kling v2.1 standard 10 s × 0.056 = 0.56 (= $0.28 per 5 s); pro 5 s × 0.098 = 0.49; 2.5 turbo pro 5 × 0.07 = 0.35
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 10)]), "fal", "fal-ai/kling-video/v2.1/standard/image-to-video"), "0.56")
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 5)]), "fal", "fal-ai/kling-video/v2.1/pro/image-to-video"), "0.49")
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 5)]), "fal", "fal-ai/kling-video/v2.5-turbo/pro/image-to-video"), "0.35")
        // The pages' 10 s price: pro $0.49 + 5 × $0.098 = 0.98; 2.5 turbo pro $0.35 + 5 × $0.07 = 0.70
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 10)]), "fal", "fal-ai/kling-video/v2.1/pro/image-to-video"), "0.98")
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 10)]), "fal", "fal-ai/kling-video/v2.5-turbo/pro/image-to-video"), "0.70")
        // seedance 2.0 720p 5 s × 0.3034 = 1.517
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: 5, resolution: "720p")]), "fal", "bytedance/seedance-2.0/text-to-video"), "1.517")
        // Fractional seconds stay exact: 5.5 × 0.1346 = 0.7403
        assertTotal(cost(Usage(video: [VideoQuantity(seconds: Decimal(55) / 10, resolution: "480p")]), "fal", "bytedance/seedance-2.0/image-to-video"), "0.7403")
    }

    // MARK: Local

    func testLocalProviderIsFreeNotUnpriced() {
        let usage = Usage(inputTokens: 100, outputTokens: 50, characters: 300)
        let breakdown = cost(usage, "local", "espeak-ng")
        assertTotal(breakdown, "0", .free)
        XCTAssertEqual(breakdown.lines.count, 3)
        XCTAssertTrue(breakdown.lines.allSatisfy { $0.subtotal.isZero })
    }

    // MARK: Unpriced

    func testUnpricedNeverBecomesZero() throws {
        let unknown = cost(Usage(inputTokens: 10), "openai", "gpt-9")
        XCTAssertEqual(unknown.status, .unpriced)
        XCTAssertNil(unknown.total)
        XCTAssertEqual(unknown.missing.map(\.reason), [.unknownModel])

        // A chat model asked to price an image: the tokens are priced, the image is missing.
        var usage = try Usage.openAIChat(promptTokens: 1_000, completionTokens: 100)
        usage.images = [ImageQuantity(count: 1, size: "1024x1024")]
        let partial = cost(usage, "openai", "gpt-4o-mini")
        XCTAssertEqual(partial.status, .unpriced)
        XCTAssertNil(partial.total)
        XCTAssertEqual(partial.lines.count, 2, "the priced part is still shown")
        XCTAssertEqual(partial.missing, [MissingPrice(unit: .image, dimension: PriceDimension(size: "1024x1024"), reason: .noPrice)])

        // Negative quantities are a bug upstream, never a credit.
        let negative = cost(Usage(inputTokens: -5), "openai", "gpt-4o")
        XCTAssertEqual(negative.missing.map(\.reason), [.invalidUsage])
        XCTAssertNil(negative.total)

        // Veo without a resolution.
        let veo = cost(Usage(video: [VideoQuantity(seconds: 8)]), "veo", "veo-3.1-generate-001")
        XCTAssertEqual(veo.missing.first?.missingKeys, [.resolution])
        XCTAssertNil(veo.total)
    }

    func testBreakdownJSONUsesSnakeCaseAndStringAmounts() throws {
        let breakdown = cost(try Usage.openAIChat(promptTokens: 1_000, completionTokens: 10), "openai", "gpt-4o")
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(breakdown), as: UTF8.self)
        XCTAssertTrue(json.contains(#""pricing_version_id":"2026-12-01.2""#), json)
        XCTAssertTrue(json.contains(#""total":"0.0026""#), json)
        XCTAssertTrue(json.contains(#""subtotal":"0.0025""#), json)
        XCTAssertTrue(json.contains(#""status":"priced""#), json)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        XCTAssertEqual(try decoder.decode(CostBreakdown.self, from: encoder.encode(breakdown)), breakdown)
    }

    func testUsageDecodesWithMissingFieldsAsZero() throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let usage = try decoder.decode(Usage.self, from: Data(#"{"input_tokens": 5, "provider_reported_cost": "0.10"}"#.utf8))
        XCTAssertEqual(usage, Usage(inputTokens: 5, providerReportedCost: TestCatalog.money("0.10")))
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let full = Usage(inputTokens: 1, cachedInputWriteOneHourTokens: 2, images: [ImageQuantity(count: 1, size: "1024x1024")],
                         video: [VideoQuantity(seconds: Decimal(55) / 10, resolution: "720p")], megapixels: 3, credits: 4,
                         providerReportedCost: TestCatalog.money("0.5"))
        let data = try encoder.encode(full)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains(#""cached_input_write_one_hour_tokens":2"#), String(decoding: data, as: UTF8.self))
        XCTAssertEqual(try decoder.decode(Usage.self, from: data), full)
    }
}

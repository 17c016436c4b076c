import Foundation
import XCTest
@testable import Domain

/// The importer on LiteLLM's real file: 103 entries copied unmodified from LiteLLM 1.110.2
/// (Tests/Fixtures/README.md names the wheel and the full file's hash).
final class LiteLLMFileTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/litellm-model-prices-trimmed.json")

    static func imported() throws -> LiteLLMCatalog.Result {
        try LiteLLMCatalog.decode(try Data(contentsOf: fixture),
                                  options: .init(versionId: "litellm.real", label: "LiteLLM 1.110.2 (trimmed)", effectiveFrom: "2026-12-01"))
    }

    private func price(_ version: PricingVersion, _ provider: String, _ model: String, _ unit: PriceUnit,
                       _ dimension: PriceDimension = .none, inputTokens: Int? = nil, purpose: PricingPurpose = .actual) -> String? {
        version.price(provider: provider, model: model, unit: unit, dimension: dimension, inputTokens: inputTokens, purpose: purpose)
            .map { "\($0.price.jsonString)/\($0.per)" }
    }

    private func report(_ result: LiteLLMCatalog.Result, _ provider: String, _ model: String) throws -> LiteLLMCatalog.ModelReport {
        try XCTUnwrap(result.models.first { $0.provider == provider && $0.model == model }, "no report for \(provider)/\(model)")
    }

    func testTheFalGPTImage2FallbackIsSkippedAndNamedNotAReasonToRefuseTheFile() throws {
        let result = try Self.imported()
        let version = result.version
        XCTAssertEqual(price(version, "fal", "openai/gpt-image-2", .image, PriceDimension(size: "1024x1024", quality: "high")), "0.211/1")
        XCTAssertEqual(price(version, "fal", "openai/gpt-image-2", .image, PriceDimension(size: "1024x768", quality: "low")), "0.005/1")
        // The flat entry is LiteLLM's fallback for sizes no keyed entry has: a request without them stays unpriced.
        XCTAssertEqual(version.lookup(provider: "fal", model: "openai/gpt-image-2", unit: .image), .missingDimension([.size, .quality]))
        let gptImage2 = try report(result, "fal", "openai/gpt-image-2")
        XCTAssertTrue(gptImage2.imported)
        XCTAssertTrue(gptImage2.skipped.contains {
            $0.key == "fal_ai/openai/gpt-image-2" && $0.field == "output_cost_per_image" && $0.reason.contains("fallback")
        }, "\(gptImage2.skipped)")
        XCTAssertEqual(gptImage2.used.count, 18, "3 qualities × 6 sizes")
    }

    func testEveryLongContextTierOfGPT54And55() throws {
        let version = try Self.imported().version
        for (model, base, above) in [("gpt-5.4", ["2.50", "0.25", "15.00"], ["5.00", "0.50", "22.50"]),
                                     ("gpt-5.5", ["5.00", "0.50", "30.00"], ["10.00", "1.00", "45.00"])] {
            let units: [PriceUnit] = [.inputToken, .cachedInputTokenRead, .outputToken]
            XCTAssertEqual(units.map { price(version, "openai", model, $0, inputTokens: 272_000) }, base.map { "\($0)/1000000" }, model)
            XCTAssertEqual(units.map { price(version, "openai", model, $0, inputTokens: 272_001) }, above.map { "\($0)/1000000" }, model)
        }
    }

    func testPerResolutionVideoPricesAndTheFlatPriceForOtherResolutions() throws {
        let version = try Self.imported().version
        XCTAssertEqual(price(version, "veo", "veo-3.1-fast-generate-001", .videoSecond, PriceDimension(resolution: "1080p")), "0.12/1")
        XCTAssertEqual(price(version, "veo", "veo-3.1-fast-generate-001", .videoSecond, PriceDimension(resolution: "4k")), "0.30/1")
        XCTAssertEqual(price(version, "veo", "veo-3.1-generate-preview", .videoSecond, PriceDimension(resolution: "4k")), "0.60/1")
        // `output_cost_per_second` prices the resolutions without their own field, and only when one is given.
        XCTAssertEqual(price(version, "veo", "veo-3.1-generate-preview", .videoSecond, PriceDimension(resolution: "720p")), "0.40/1")
        XCTAssertEqual(version.lookup(provider: "veo", model: "veo-3.1-generate-preview", unit: .videoSecond), .missingDimension([.resolution]))
        XCTAssertEqual(price(version, "fal", "bytedance/seedance-2.0/text-to-video", .videoSecond, PriceDimension(resolution: "480p")), "0.1346/1")
        XCTAssertEqual(price(version, "runway", "seedance2", .videoSecond, PriceDimension(resolution: "4k")), "1.50/1")
        XCTAssertEqual(price(version, "runway", "seedance2", .videoSecond, PriceDimension(resolution: "720p")), "0.36/1")
    }

    func testPerImagePerPixelAndCachePrices() throws {
        let result = try Self.imported()
        let version = result.version
        // gpt-image-1.5's per-image prices are LiteLLM's `input_cost_per_image` on sized image entries; the
        // model is billed by tokens, so they quote only.
        XCTAssertEqual(price(version, "openai", "gpt-image-1.5", .image, PriceDimension(size: "1024x1536", quality: "high"),
                             purpose: .estimate), "0.20/1")
        XCTAssertNil(price(version, "openai", "gpt-image-1.5", .image, PriceDimension(size: "1024x1536", quality: "high")))
        // gpt-image-1's per-pixel figure (1.59263611e-07, 9 significant digits) × 1,048,576 pixels = 0.167000000167936,
        // kept to 9 significant digits: 0.167, the same as its `input_cost_per_image`, so reported as the same price.
        XCTAssertEqual(price(version, "openai", "gpt-image-1", .image, PriceDimension(size: "1024x1024", quality: "high"), purpose: .estimate),
                       "0.167/1")
        let gptImage1 = try report(result, "openai", "gpt-image-1")
        XCTAssertTrue(gptImage1.skipped.contains {
            $0.key == "high/1024-x-1024/gpt-image-1" && $0.field == "input_cost_per_pixel" && $0.reason == "same price as input_cost_per_image"
        }, "\(gptImage1.skipped)")
        XCTAssertEqual(price(version, "openai", "gpt-image-1", .image, PriceDimension(size: "1024x1536", quality: "low"), purpose: .estimate),
                       "0.016/1")
        // FLUX dev: 2.384185791015625e-08 per pixel = $0.025 per billable megapixel of 2^20 pixels.
        XCTAssertEqual(price(version, "fal", "fal-ai/flux/dev", .megapixel), "0.025/1")
        XCTAssertEqual(price(version, "anthropic", "claude-opus-4-6", .cachedInputTokenWrite), "6.25/1000000")
        XCTAssertEqual(price(version, "anthropic", "claude-opus-4-6", .cachedInputTokenWrite1h), "10.00/1000000")
        XCTAssertNotNil(price(version, "openai", "gpt-5.6", .cachedInputTokenWrite12h))
        XCTAssertNotNil(price(version, "openai", "gpt-5.6", .cachedInputTokenWrite12h, inputTokens: 272_001))
        XCTAssertEqual(price(version, "elevenlabs", "eleven_v3", .characters1k), "0.08/1")
    }

    func testTheReportListsEachFieldUsedAndSkippedPerModel() throws {
        let result = try Self.imported()
        let gpt54 = try report(result, "openai", "gpt-5.4")
        XCTAssertEqual(Set(gpt54.used.map(\.field)), [
            "input_cost_per_token", "input_cost_per_token_above_272k_tokens", "cache_read_input_token_cost",
            "cache_read_input_token_cost_above_272k_tokens", "output_cost_per_token", "output_cost_per_token_above_272k_tokens",
        ])
        XCTAssertTrue(gpt54.skipped.contains {
            $0.field == "input_cost_per_token_priority" && $0.reason == "service tier priority is not one our adapters request"
        }, "\(gpt54.skipped)")
        let flux = try report(result, "fal", "fal-ai/flux/dev")
        XCTAssertEqual(flux.used.map(\.field), ["output_cost_per_pixel"])
        XCTAssertEqual(flux.used.first?.note, "per pixel × 1,048,576 pixels in a billable megapixel")
        XCTAssertTrue(flux.skipped.contains { $0.field == "output_cost_per_image" }, "priced by pixel, never also per image: \(flux.skipped)")
        XCTAssertTrue(result.skippedEntries.contains { $0.key == "text-embedding-3-small" && $0.field == "mode" })
        XCTAssertTrue(result.models.allSatisfy { $0.imported }, "\(result.models.filter { !$0.imported })")
    }

    func testImportingIntoTheShippedCatalogKeepsEveryRowItDoesNotName() throws {
        let catalog = try TestCatalog.load()
        let imported = try Self.imported().version
        let merged = PricingMerge.merge(imported, into: catalog)
        let version = merged.version
        let diff = PricingDiff(old: catalog, new: version)
        XCTAssertTrue(diff.modelsRemoved.isEmpty, "\(diff.modelsRemoved)")
        for kept in [("local", "*"), ("runway", "*"), ("elevenlabs", "*"), ("openrouter", "*"), ("openrouter", "openai/gpt-4o")] {
            XCTAssertEqual(version.model(provider: kept.0, model: kept.1), catalog.model(provider: kept.0, model: kept.1), "\(kept)")
        }
        // Runway aleph2 keeps our 2-second minimum; gen4_image keeps its per-resolution prices (LiteLLM's is flat).
        XCTAssertEqual(version.price(provider: "runway", model: "aleph2", unit: .videoSecond)?.minimumQuantity, 2)
        XCTAssertEqual(price(version, "runway", "gen4_image", .image, PriceDimension(resolution: "1080p")), "0.08/1")
        // Named models are updated: gpt-5.4 gains its output tier.
        XCTAssertEqual(price(version, "openai", "gpt-5.4", .outputToken, inputTokens: 300_000), "22.50/1000000")
        XCTAssertTrue(diff.removed.isEmpty, "an update removes no row: \(diff.removed)")

        // A full replacement removes what the file does not name, and the diff lists it.
        let replaced = PricingDiff(old: catalog, new: imported)
        XCTAssertTrue(replaced.modelsRemoved.contains(PricingDiff.ModelReference(provider: "local", model: "*")))
    }
}

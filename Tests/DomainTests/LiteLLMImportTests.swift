import Foundation
import XCTest
@testable import Domain

/// Import of LiteLLM's `model_prices_and_context_window.json` format, on a small fixture that
/// uses its real field names (numbers as LiteLLM writes them: `2.5e-06`).
final class LiteLLMImportTests: XCTestCase {
    static let fixture = """
    {
      "sample_spec": {"input_cost_per_token": 0.0, "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
                      "max_output_tokens": "max output tokens, if the provider specifies it", "mode": "one of: chat, ...",
                      "search_context_cost_per_query": {"search_context_size_low": 0.0}},
      "gpt-4o": {"litellm_provider": "openai", "mode": "chat", "max_output_tokens": 16384,
                 "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06,
                 "input_cost_per_token_priority": 4.25e-06, "supports_vision": true},
      "o3": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06,
             "output_cost_per_reasoning_token": 8e-06},
      "claude-sonnet-4-5": {"litellm_provider": "anthropic", "mode": "chat", "max_output_tokens": 64000,
                            "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
                            "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
                            "cache_creation_input_token_cost_above_1hr": 6e-06,
                            "input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token_above_200k_tokens": 2.25e-05},
      "gpt-image-1": {"litellm_provider": "openai", "mode": "image_generation", "input_cost_per_token": 5e-06,
                      "input_cost_per_image_token": 1e-05, "output_cost_per_image_token": 4e-05},
      "medium/1024-x-1024/gpt-image-1": {"litellm_provider": "openai", "mode": "image_generation",
                                         "input_cost_per_pixel": 40054321e-15, "output_cost_per_pixel": 0},
      "tts-1": {"litellm_provider": "openai", "mode": "audio_speech", "input_cost_per_character": 1.5e-05},
      "text-embedding-3-small": {"litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 2e-08},
      "openrouter/openai/gpt-4o": {"litellm_provider": "openrouter", "mode": "chat",
                                   "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05},
      "elevenlabs/eleven_v3": {"litellm_provider": "elevenlabs", "mode": "audio_speech", "input_cost_per_character": 8e-05},
      "gemini/veo-3.1-generate-preview": {"litellm_provider": "gemini", "mode": "video_generation", "output_cost_per_second": 0.4},
      "gemini/gemini-2.5-flash": {"litellm_provider": "gemini", "mode": "chat", "input_cost_per_token": 3e-07},
      "runwayml/gen4_turbo": {"litellm_provider": "runwayml", "mode": "video_generation", "output_cost_per_video_per_second": 0.05},
      "fal_ai/fal-ai/flux-pro/v1.1": {"litellm_provider": "fal_ai", "mode": "image_generation", "output_cost_per_image": 0.04},
      "bedrock/anthropic.claude-v2": {"litellm_provider": "bedrock", "mode": "chat", "input_cost_per_token": 8e-06},
      "tiny-model": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1.23456789012345e-09,
                     "output_cost_per_token": 123456789.123456789123e-15}
    }
    """

    static func imported() throws -> LiteLLMCatalog.Result {
        try LiteLLMCatalog.decode(Data(fixture.utf8), options: .init(versionId: "litellm.1", label: "LiteLLM fixture", effectiveFrom: "2026-11-24"))
    }

    func testImportsPricesUnderOurUnitsExactly() throws {
        let version = try Self.imported().version
        func price(_ provider: String, _ model: String, _ unit: PriceUnit, inputTokens: Int? = nil, purpose: PricingPurpose = .actual) -> String? {
            version.price(provider: provider, model: model, unit: unit, inputTokens: inputTokens, purpose: purpose)
                .map { "\($0.price.jsonString)/\($0.per)" }
        }
        // Per token → per 1M: 2.5e-06 → 2.50, 1.25e-06 → 1.25, 1e-05 → 10.00
        XCTAssertEqual(price("openai", "gpt-4o", .inputToken), "2.50/1000000")
        XCTAssertEqual(price("openai", "gpt-4o", .cachedInputTokenRead), "1.25/1000000")
        XCTAssertEqual(price("openai", "gpt-4o", .outputToken), "10.00/1000000")
        XCTAssertEqual(version.model(provider: "openai", model: "gpt-4o")?.maxOutputTokens, 16384)
        // Cache writes, 1-hour writes and the >200k tier.
        XCTAssertEqual(price("anthropic", "claude-sonnet-4-5", .cachedInputTokenWrite), "3.75/1000000")
        XCTAssertEqual(price("anthropic", "claude-sonnet-4-5", .cachedInputTokenWrite1h), "6.00/1000000")
        XCTAssertEqual(price("anthropic", "claude-sonnet-4-5", .inputToken, inputTokens: 200_001), "6.00/1000000")
        XCTAssertEqual(price("anthropic", "claude-sonnet-4-5", .outputToken, inputTokens: 250_000), "22.50/1000000")
        XCTAssertEqual(price("anthropic", "claude-sonnet-4-5", .inputToken, inputTokens: 1_000), "3.00/1000000")
        // Image tokens, characters (per 1k), seconds, images.
        XCTAssertEqual(price("openai", "gpt-image-1", .imageOutputToken), "40.00/1000000")
        XCTAssertEqual(price("openai", "tts-1", .characters1k), "0.015/1")
        XCTAssertEqual(price("elevenlabs", "eleven_v3", .characters1k), "0.08/1")
        XCTAssertEqual(price("veo", "veo-3.1-generate-preview", .videoSecond), "0.40/1")
        XCTAssertEqual(price("runway", "gen4_turbo", .videoSecond), "0.05/1")
        XCTAssertEqual(price("fal", "fal-ai/flux-pro/v1.1", .image), "0.04/1")
        // OpenRouter prices only quote: the charge is usage.cost.
        XCTAssertEqual(version.mode(provider: "openrouter", model: "openai/gpt-4o"), .providerReported)
        XCTAssertNil(price("openrouter", "openai/gpt-4o", .inputToken))
        XCTAssertEqual(price("openrouter", "openai/gpt-4o", .inputToken, purpose: .estimate), "2.50/1000000")
        // Finer than Money's 10 decimals even per 1M tokens: left out (see testReportsWhatItLeftOut).
        XCTAssertNil(price("openai", "tiny-model", .inputToken))
    }

    func testReportsWhatItLeftOut() throws {
        let result = try Self.imported()
        let skipped = Set(result.skipped.map { "\($0.key) \($0.field ?? "") \($0.reason)" })
        XCTAssertTrue(skipped.contains("gpt-4o input_cost_per_token_priority service tier priority is not one our adapters request"), "\(skipped)")
        XCTAssertTrue(skipped.contains("o3 output_cost_per_reasoning_token reasoning tokens are inside output tokens"))
        XCTAssertTrue(skipped.contains("medium/1024-x-1024/gpt-image-1 output_cost_per_pixel zero per-pixel price (LiteLLM's placeholder beside another price)"), "\(skipped)")
        XCTAssertTrue(skipped.contains("text-embedding-3-small mode mode not imported for openai"))
        XCTAssertTrue(skipped.contains("gemini/gemini-2.5-flash mode mode not imported for gemini"))
        XCTAssertTrue(skipped.contains { $0.hasPrefix("tiny-model input_cost_per_token price ") && $0.hasSuffix("finer than 10 decimals") })
        XCTAssertTrue(skipped.contains { $0.hasPrefix("tiny-model output_cost_per_token price 0.123456789123456789123 ") },
                      "all 21 significant digits of 123456789.123456789123e-15 survive decoding: \(skipped)")
        XCTAssertFalse(result.version.models.contains { $0.provider == "bedrock" }, "unmapped providers are not imported")
        XCTAssertNil(result.version.model(provider: "openai", model: "tiny-model"), "a model with no importable price is left out")
    }

    func testImportedVersionPricesLikeTheCatalog() throws {
        let imported = try Self.imported().version
        let catalog = try TestCatalog.load()
        let usage = try Usage.anthropic(inputTokens: 1_000, cacheCreationInputTokens: 2_000, cacheReadInputTokens: 3_000,
                                        outputTokens: 500, ephemeral1hInputTokens: 1_000)
        let fromImport = CostCalculator.cost(of: usage, provider: "anthropic", model: "claude-sonnet-4-5", pricing: imported)
        let fromCatalog = CostCalculator.cost(of: usage, provider: "anthropic", model: "claude-sonnet-4-5", pricing: catalog)
        // 1,000 × 3 + 1,000 × 3.75 + 1,000 × 6 + 3,000 × 0.30 + 500 × 15, all /1M = 0.003 + 0.00375 + 0.006 + 0.0009 + 0.0075 = 0.02115
        XCTAssertEqual(fromImport.total, TestCatalog.money("0.02115"))
        XCTAssertEqual(fromImport.total, fromCatalog.total)
        XCTAssertEqual(fromImport.pricingVersionId, "litellm.1")

        let diff = PricingDiff(old: catalog, new: imported)
        XCTAssertTrue(diff.changed.isEmpty, "the fixture's prices equal providers.md's: \(diff.changed)")
        XCTAssertEqual(imported.price(provider: "openai", model: "gpt-image-1", unit: .image,
                                      dimension: PriceDimension(size: "1024x1024", quality: "medium"), purpose: .estimate)?.price,
                       TestCatalog.money("0.042"), "40054321e-15 × 1,048,576 = 0.04199999…, kept to the figure's 8 significant digits")
        XCTAssertTrue(diff.added.contains { $0.model == "claude-sonnet-4-5" && $0.aboveInputTokens == 200_000 })
        XCTAssertTrue(diff.modelsRemoved.contains(PricingDiff.ModelReference(provider: "local", model: "*")))
    }

    func testRejectsWhatIsNotAPriceFile() {
        XCTAssertFalse(TestCatalog.fieldErrors {
            _ = try LiteLLMCatalog.decode(Data("[1, 2]".utf8), options: .init(versionId: "x", label: "x", effectiveFrom: "2026-01-01"))
        }.isEmpty)
        XCTAssertEqual(TestCatalog.fieldErrors {
            _ = try LiteLLMCatalog.decode(Data("{}".utf8), options: .init(versionId: "x", label: "x", effectiveFrom: "yesterday"))
        }.map(\.code), ["invalid_date"])
    }
}

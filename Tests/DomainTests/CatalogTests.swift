import Foundation
import XCTest
@testable import Domain

enum TestCatalog {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../pricing/catalog.json")

    static func data() throws -> Data { try Data(contentsOf: url) }

    static func load() throws -> PricingVersion { try PricingCatalog.load(try data()) }

    static func money(_ text: String) -> Money {
        do { return try Money(parsing: text) } catch { fatalError("bad test amount \(text)") }
    }

    /// A catalog document around the given model entries (JSON text of the `models` array).
    static func document(models: String, version: String = "test.1") -> Data {
        Data("""
        {"format": "media-workspace-pricing/1", "version": "\(version)", "label": "test", "currency": "USD",
         "effective_from": "2026-01-01", "models": \(models)}
        """.utf8)
    }

    static func fieldErrors(_ body: () throws -> Void) -> [FieldError] {
        do {
            try body()
            return []
        } catch DomainError.validation(let errors) {
            return errors
        } catch {
            return [FieldError(field: "?", code: "unexpected", message: "\(error)")]
        }
    }
}

final class CatalogTests: XCTestCase {
    func testShippedCatalogLoadsAndCoversEveryProvider() throws {
        let version = try TestCatalog.load()
        XCTAssertEqual(version.id, "2026-12-01.2")
        XCTAssertEqual(version.currency, "USD")
        XCTAssertEqual(Set(version.models.map(\.provider)),
                       ["openai", "anthropic", "openrouter", "elevenlabs", "runway", "veo", "fal", "local"])
        for row in version.rows {
            XCTAssertFalse(row.source.isEmpty, "\(row.key) has no source")
            // A public page a reader can check, or (for the offline provider) why there is none.
            XCTAssertTrue(row.source.contains("https://") || row.source.hasPrefix("no provider is called"), "\(row.key): \(row.source)")
        }
        XCTAssertEqual(version.mode(provider: "openrouter", model: "meta-llama/llama-3.1-70b"), .providerReported)
        XCTAssertEqual(version.mode(provider: "local", model: "espeak-ng"), .free)
        XCTAssertNil(version.mode(provider: "openai", model: "dall-e-3"), "retired models are unpriced, not free")
    }

    func testEverySourceCarriesTheMarkerOfItsConfidence() throws {
        // pricing/README.md: [V] seen on the provider's own page or docs, [L] as LiteLLM has it, [?] unverified or derived.
        // A row claiming more than its source says, or a source naming no marker, is caught here.
        let marker: [PriceConfidence: String] = [.verified: "[V]", .litellm: "[L]", .unverified: "[?]"]
        let rows = try TestCatalog.load().rows
        XCTAssertFalse(rows.isEmpty)
        for row in rows {
            let expected = try XCTUnwrap(marker[row.confidence])
            XCTAssertTrue(row.source.contains(expected), "\(row.key) is \(row.confidence.rawValue) but its source says: \(row.source)")
        }
        XCTAssertTrue(rows.contains { $0.confidence == .verified }, "the provider pages read so far are cited as verified")
    }

    func testEncodingAndReloadingKeepsTheVersion() throws {
        let version = try TestCatalog.load()
        let reloaded = try PricingCatalog.load(PricingCatalog.encode(version))
        XCTAssertEqual(reloaded, version)
        XCTAssertEqual(reloaded.fingerprint, version.fingerprint)
        XCTAssertTrue(PricingDiff(old: version, new: reloaded).isEmpty)

        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let viaAPI = try decoder.decode(PricingVersion.self, from: encoder.encode(version))
        XCTAssertEqual(viaAPI, version)
    }

    func testLookupByDimensionTierWildcardAndSnapshot() throws {
        let version = try TestCatalog.load()
        XCTAssertEqual(version.price(provider: "openai", model: "gpt-image-1", unit: .image,
                                     dimension: PriceDimension(size: "1536x1024", quality: "high"), purpose: .estimate)?.price,
                       TestCatalog.money("0.25"))
        // Per-image gpt-image-1 prices quote; they never charge.
        XCTAssertNil(version.price(provider: "openai", model: "gpt-image-1", unit: .image,
                                   dimension: PriceDimension(size: "1536x1024", quality: "high")))
        XCTAssertEqual(version.lookup(provider: "veo", model: "veo-3.1-generate-001", unit: .videoSecond),
                       .missingDimension([.resolution]))
        XCTAssertEqual(version.lookup(provider: "veo", model: "veo-3.1-lite-generate-001", unit: .videoSecond,
                                      dimension: PriceDimension(resolution: "4k")), .noMatchingDimension)
        // A flat per-second price ignores the resolution it is given.
        XCTAssertEqual(version.price(provider: "runway", model: "gen4_turbo", unit: .videoSecond,
                                     dimension: PriceDimension(resolution: "1080p"))?.price, TestCatalog.money("0.05"))
        // Long context: the tier applies above 272k prompt tokens.
        XCTAssertEqual(version.price(provider: "openai", model: "gpt-5.4", unit: .inputToken, inputTokens: 272_000)?.price,
                       TestCatalog.money("2.50"))
        XCTAssertEqual(version.price(provider: "openai", model: "gpt-5.4", unit: .inputToken, inputTokens: 272_001)?.price,
                       TestCatalog.money("5.00"))
        XCTAssertEqual(version.price(provider: "openai", model: "gpt-5.4", unit: .outputToken, inputTokens: 300_000)?.price,
                       TestCatalog.money("22.50"), "output has its own tier (OpenAI: 1.5× above 272k)")
        // The provider's * entry prices credits for every model.
        XCTAssertEqual(version.price(provider: "runway", model: "gen4_turbo", unit: .credit)?.price, TestCatalog.money("0.01"))
        // Dated snapshots fall back to their model.
        XCTAssertEqual(version.model(provider: "openai", model: "gpt-4o-mini-2024-07-18")?.model, "gpt-4o-mini")
        XCTAssertEqual(version.model(provider: "anthropic", model: "claude-sonnet-4-5-20250929")?.model, "claude-sonnet-4-5")
        XCTAssertEqual(version.model(provider: "openai", model: "gpt-4o-mini-tts-2025-12-15")?.model, "gpt-4o-mini-tts")
        XCTAssertNil(version.model(provider: "openai", model: "gpt-4o-mini-20240718x"))
    }

    func testValidationReportsEveryProblemWithItsPath() {
        let errors = TestCatalog.fieldErrors {
            _ = try PricingCatalog.load(TestCatalog.document(models: """
            [{"provider": "acme", "model": "m1", "mode": "priced", "source": "s", "prices": [
                {"unit": "input_token", "per": 1000000, "price": "-1.00"},
                {"unit": "output_token", "per": 1000000, "price": "0.12345678901"},
                {"unit": "image", "price": "0.01", "dimension": {"size": "1024x1024"}},
                {"unit": "image", "price": "0.02", "dimension": {"quality": "high"}},
                {"unit": "video_second", "price": "0.01", "per": 7},
                {"unit": "request", "price": "0.01"},
                {"unit": "request", "price": "0.02"},
                {"unit": "megapixel", "price": "0.01", "above_input_tokens": 1000}]},
             {"provider": "acme", "model": "m1", "mode": "free", "source": "s", "prices": [{"unit": "request", "price": "0.01"}]},
             {"provider": "Bad Provider", "model": "", "mode": "provider_reported", "source": "",
              "prices": [{"unit": "input_token", "price": "1"}]}]
            """))
        }
        let found = Set(errors.map { "\($0.field) \($0.code)" })
        let expected: Set<String> = [
            "models[0].prices[0].price amount_negative",
            "models[0].prices[1].price amount_too_many_decimals",
            "models[0].prices[2].dimension inconsistent_dimension",
            "models[0].prices[4].per invalid_per",
            "models[0].prices[6] duplicate_price",
            "models[0].prices[7].above_input_tokens invalid_value",
            "models[0].prices[7] tier_without_base",
            "models[1].model duplicate_model",
            "models[1].prices[0].price free_model_priced",
            "models[2].provider invalid_provider",
            "models[2].model required",
            "models[2].source required",
            "models[2].prices[0].source required",
            "models[2].prices[0].estimate_only provider_reported_priced",
        ]
        XCTAssertEqual(found.subtracting(expected), [], "unexpected errors")
        XCTAssertEqual(expected.subtracting(found), [], "missing errors")
    }

    func testDecodingErrorsNameTheField() {
        let badUnit = TestCatalog.fieldErrors {
            _ = try PricingCatalog.load(TestCatalog.document(models: """
            [{"provider": "acme", "model": "m", "mode": "priced", "source": "s", "prices": [{"unit": "gallon", "price": "1"}]}]
            """))
        }
        XCTAssertEqual(badUnit.first?.field, "models[0].prices[0].unit")
        let missing = TestCatalog.fieldErrors { _ = try PricingCatalog.load(Data(#"{"format": "media-workspace-pricing/1"}"#.utf8)) }
        XCTAssertEqual(missing.first?.code, "required")
        let notJSON = TestCatalog.fieldErrors { _ = try PricingCatalog.load(Data("not json".utf8)) }
        XCTAssertEqual(notJSON.first?.field, "$")
        let wrongFormat = TestCatalog.fieldErrors {
            _ = try PricingCatalog.load(Data(#"{"format": "v0", "version": "x", "label": "l", "currency": "usd", "effective_from": "2026-02-30", "models": []}"#.utf8))
        }
        XCTAssertEqual(Set(wrongFormat.map(\.code)), ["unsupported_format", "invalid_currency", "invalid_date"])
    }
}

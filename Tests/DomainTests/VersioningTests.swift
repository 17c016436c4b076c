import Foundation
import XCTest
@testable import Domain

final class VersioningTests: XCTestCase {
    /// The shipped catalog with gpt-4o's input price raised to 3.00, tts-1 removed, a model
    /// added and the version id changed: what a later `pricing import` might bring.
    static func nextVersion() throws -> PricingVersion {
        var document = try XCTUnwrap(try JSONSerialization.jsonObject(with: TestCatalog.data()) as? [String: Any])
        var models = try XCTUnwrap(document["models"] as? [[String: Any]])
        models.removeAll { $0["model"] as? String == "tts-1" }
        let index = try XCTUnwrap(models.firstIndex { $0["model"] as? String == "gpt-4o" })
        var prices = try XCTUnwrap(models[index]["prices"] as? [[String: Any]])
        let input = try XCTUnwrap(prices.firstIndex { $0["unit"] as? String == "input_token" })
        prices[input]["price"] = "3.00"
        models[index]["prices"] = prices
        models.append(["provider": "openai", "model": "gpt-6", "mode": "priced", "source": "test",
                       "prices": [["unit": "input_token", "per": 1_000_000, "price": "9.00"]]])
        document["models"] = models
        document["version"] = "2026-12-08.1"
        return try PricingCatalog.load(JSONSerialization.data(withJSONObject: document))
    }

    func testANewImportDoesNotChangeResultsComputedAgainstTheOldVersion() throws {
        let old = try TestCatalog.load()
        let usage = try Usage.openAIChat(promptTokens: 1_000_000, completionTokens: 0)
        let before = CostCalculator.cost(of: usage, provider: "openai", model: "gpt-4o", pricing: old)
        // 1,000,000 × 2.50/1M = 2.50
        XCTAssertEqual(before.total, TestCatalog.money("2.50"))

        let new = try Self.nextVersion()
        let again = CostCalculator.cost(of: usage, provider: "openai", model: "gpt-4o", pricing: old)
        XCTAssertEqual(again, before, "the old version is immutable; importing another one changes nothing in it")
        let after = CostCalculator.cost(of: usage, provider: "openai", model: "gpt-4o", pricing: new)
        // 1,000,000 × 3.00/1M = 3.00
        XCTAssertEqual(after.total, TestCatalog.money("3.00"))
        XCTAssertEqual(after.pricingVersionId, "2026-12-08.1")
        XCTAssertEqual(before.pricingVersionId, "2026-12-01.2")
        XCTAssertNotEqual(new.fingerprint, old.fingerprint)
        // tts-1 is gone from the new version: unpriced there, still priced in the old one.
        XCTAssertEqual(CostCalculator.cost(of: Usage(characters: 1000), provider: "openai", model: "tts-1", pricing: new).status, .unpriced)
        XCTAssertEqual(CostCalculator.cost(of: Usage(characters: 1000), provider: "openai", model: "tts-1", pricing: old).status, .priced)
    }

    func testDiffReportsAddedRemovedAndChangedPrices() throws {
        let old = try TestCatalog.load()
        let new = try Self.nextVersion()
        let diff = PricingDiff(old: old, new: new)
        XCTAssertEqual(diff.changed.count, 1)
        XCTAssertEqual(diff.changed.first?.old.price, TestCatalog.money("2.50"))
        XCTAssertEqual(diff.changed.first?.new.price, TestCatalog.money("3.00"))
        XCTAssertEqual(diff.changed.first?.new.key.description, "openai/gpt-4o input_token")
        XCTAssertEqual(diff.added.map(\.key.description), ["openai/gpt-6 input_token"])
        XCTAssertEqual(diff.removed.map(\.key.description), ["openai/tts-1 characters_1k"])
        XCTAssertEqual(diff.modelsAdded, [PricingDiff.ModelReference(provider: "openai", model: "gpt-6")])
        XCTAssertEqual(diff.modelsRemoved, [PricingDiff.ModelReference(provider: "openai", model: "tts-1")])
        XCTAssertTrue(diff.modeChanged.isEmpty)
        XCTAssertTrue(PricingDiff(old: old, new: old).isEmpty)
    }

    /// Quoting the same price per 1k instead of per 1M is not a change.
    func testRequotingTheSamePriceIsNotAChange() throws {
        let perMillion = try PricingCatalog.load(TestCatalog.document(models: """
        [{"provider": "acme", "model": "m", "mode": "priced", "source": "s", "prices": [{"unit": "input_token", "per": 1000000, "price": "2.00"}]}]
        """))
        let perThousand = try PricingCatalog.load(TestCatalog.document(models: """
        [{"provider": "acme", "model": "m", "mode": "priced", "source": "s", "prices": [{"unit": "input_token", "per": 1000, "price": "0.002"}]}]
        """, version: "test.2"))
        XCTAssertTrue(PricingDiff(old: perMillion, new: perThousand).isEmpty)
        let reported = try PricingCatalog.load(TestCatalog.document(models: """
        [{"provider": "acme", "model": "m", "mode": "provider_reported", "source": "s", "prices": [{"unit": "input_token", "per": 1000, "price": "0.002", "estimate_only": true}]}]
        """, version: "test.3"))
        let diff = PricingDiff(old: perMillion, new: reported)
        XCTAssertEqual(diff.modeChanged.map(\.new), [.providerReported])
        // estimate_only is part of the key, so that row moves rather than changes.
        XCTAssertEqual(diff.added.count, 1)
        XCTAssertEqual(diff.removed.count, 1)
        XCTAssertTrue(diff.changed.isEmpty)
    }
}

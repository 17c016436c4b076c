@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// `POST /v1/costs` and the structure `GET /v1/pricing` shows, on the shipped catalog.
final class CostTests: XCTestCase {
    private var server: TestServer!
    private var token = ""
    private static let catalog = TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json")

    override func setUpWithError() throws {
        server = try TestServer()
        token = try server.signUp("costs@example.com").accessToken
    }

    override func tearDown() {
        server.stop()
    }

    private func cost(_ body: [String: Any], token: String? = nil) throws -> HTTPTestConnection.Response {
        try server.post("/v1/costs", body, token: token ?? self.token)
    }

    func testCostsAnswerExactTotalsLinesAndUnpricedReasons() throws {
        let unloaded = try cost(["provider": "openai", "model": "gpt-4o", "usage": ["input_tokens": 1]])
        XCTAssertEqual(unloaded.status, 503, unloaded.text)
        _ = try PricingImport(store: server.environment.pricing).run(file: Self.catalog)
        assertAuthProblem(try cost(["provider": "openai", "model": "gpt-4o", "usage": [:]], token: ""), 401, "no_authorization")

        // gpt-5.4 one token above 272k: every token at the tier. 200,001 × 5.00/1M = 1.000005; 72,000 × 0.50/1M = 0.036;
        // 10,000 × 22.50/1M = 0.225 → 1.261005
        let tier = try cost(["provider": "openai", "model": "gpt-5.4", "usage": [
            "input_tokens": 200_001, "cached_input_read_tokens": 72_000, "output_tokens": 10_000, "reasoning_tokens": 4_000]])
        XCTAssertEqual(tier.status, 200, tier.text)
        let body = try tier.json()
        XCTAssertEqual(body["status"] as? String, "priced")
        XCTAssertEqual(body["total"] as? String, "1.261005")
        XCTAssertEqual(body["pricing_version"] as? String, "2026-12-01.2")
        let lines = try XCTUnwrap(body["lines"] as? [[String: Any]])
        XCTAssertEqual(lines.compactMap { $0["subtotal"] as? String }, ["1.000005", "0.036", "0.225"])

        // Cache writes by TTL: 2,000 × 6.25/1M + 3,000 × 10.00/1M = 0.0125 + 0.03 = 0.0425
        let anthropic = try cost(["provider": "anthropic", "model": "claude-opus-4-6", "usage": [
            "cache_writes": [["ttl": "5m", "tokens": 2_000], ["ttl": "1h", "tokens": 3_000]]]]).json()
        XCTAssertEqual(anthropic["total"] as? String, "0.0425")

        // Video: 8 s × 2 clips at 1080p × 0.12 = 1.92
        let veo = try cost(["provider": "veo", "model": "veo-3.1-fast-generate-001", "usage": [
            "video": [["seconds": "8", "resolution": "1080p", "count": 2]]]]).json()
        XCTAssertEqual(veo["total"] as? String, "1.92")

        // Unpriced says what is missing, and never answers $0.
        let missing = try cost(["provider": "veo", "model": "veo-3.1-fast-generate-001", "usage": ["video": [["seconds": "8"]]]]).json()
        XCTAssertEqual(missing["status"] as? String, "unpriced")
        XCTAssertNil(missing["total"])
        let reason = try XCTUnwrap((missing["missing"] as? [[String: Any]])?.first)
        XCTAssertEqual(reason["reason"] as? String, "missing_dimension")
        XCTAssertEqual(reason["missing_fields"] as? [String], ["resolution"])
        let unknown = try cost(["provider": "openai", "model": "no-such-model", "usage": ["input_tokens": 1]]).json()
        XCTAssertEqual((unknown["missing"] as? [[String: Any]])?.first?["reason"] as? String, "unknown_model")
    }

    func testAStoredVersionCanBeChosenAndBadUsageIsRefused() throws {
        _ = try PricingImport(store: server.environment.pricing).run(file: Self.catalog)
        let chosen = try cost(["provider": "openai", "model": "gpt-4o", "pricing_version": "2026-12-01.2", "usage": ["output_tokens": 1_000_000]])
        XCTAssertEqual(try chosen.json()["total"] as? String, "10.00")
        let absent = try cost(["provider": "openai", "model": "gpt-4o", "pricing_version": "1999-01-01.1", "usage": [:]])
        XCTAssertEqual(absent.status, 404, absent.text)
        XCTAssertEqual(try absent.json()["code"] as? String, "pricing_version_not_found")

        let bad = try cost(["provider": "openai", "model": "gpt-4o", "usage": [
            "output_tokens": 10, "reasoning_tokens": 11, "cache_writes": [["ttl": "2h", "tokens": 1]], "video": [["seconds": "1e3"]]]])
        XCTAssertEqual(bad.status, 422, bad.text)
        let fields = Set(((try bad.json()["errors"] as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String })
        XCTAssertEqual(fields, ["usage.reasoning_tokens", "usage.cache_writes[0].ttl", "usage.video[0].seconds"])
        let unknownField = try cost(["provider": "openai", "model": "gpt-4o", "usage": ["input_token": 1]])
        XCTAssertEqual(try unknownField.json()["code"] as? String, "unknown_field")
    }

    func testPricingShowsTiersSelectionFieldsMinimumsAndUnitDefinitions() throws {
        _ = try PricingImport(store: server.environment.pricing).run(file: Self.catalog)
        let body = try server.get("/v1/pricing", token: token).json()
        let units = try XCTUnwrap(body["units"] as? [[String: Any]])
        let megapixel = try XCTUnwrap(units.first { $0["unit"] as? String == "megapixel" })
        XCTAssertTrue((megapixel["definition"] as? String)?.contains("1,048,576") == true)
        let models = try XCTUnwrap(body["data"] as? [[String: Any]])
        let gpt54 = try XCTUnwrap(models.first { $0["model"] as? String == "gpt-5.4" })
        XCTAssertEqual(gpt54["tier_thresholds"] as? [Int], [272_000])
        XCTAssertEqual(gpt54["max_output_tokens"] as? Int, 128_000)
        let tiered = ((gpt54["prices"] as? [[String: Any]]) ?? []).filter { $0["above_input_tokens"] as? Int == 272_000 }
        XCTAssertEqual(Set(tiered.compactMap { $0["unit"] as? String }), ["input_token", "cached_input_token_read", "output_token"])
        let veo = try XCTUnwrap(models.first { $0["model"] as? String == "veo-3.1-generate-001" })
        XCTAssertEqual((veo["selects_on"] as? [[String: Any]])?.first?["fields"] as? [String], ["resolution"])
        let aleph = try XCTUnwrap(models.first { $0["model"] as? String == "aleph2" })
        XCTAssertEqual((aleph["prices"] as? [[String: Any]])?.first?["minimum_quantity"] as? String, "2")
    }
}

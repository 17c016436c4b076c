@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

final class PricingTests: XCTestCase {
    private static let catalog = TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json")

    func testPricingVersionsAreImportedServedAndKept() throws {
        let server = try TestServer()
        defer { server.stop() }
        let token = try server.signUp("prices@example.com").accessToken
        assertAuthProblem(try server.get("/v1/pricing", token: nil), 401, "no_authorization")
        let empty = try server.get("/v1/pricing", token: token)
        XCTAssertEqual(empty.status, 503)
        XCTAssertEqual(try empty.json()["code"] as? String, "pricing_unavailable")

        let importer = PricingImport(store: server.environment.pricing)
        let first = try importer.run(file: Self.catalog)
        XCTAssertTrue(first.imported)
        XCTAssertFalse(try importer.run(file: Self.catalog).imported, "the same prices twice make no new version")

        let all = try server.get("/v1/pricing", token: token)
        XCTAssertEqual(all.status, 200, all.text)
        let body = try all.json()
        XCTAssertEqual(body["id"] as? String, first.version.id)
        let models = try XCTUnwrap(body["data"] as? [[String: Any]])
        XCTAssertEqual(models.count, first.version.models.count)
        let prices = models.flatMap { ($0["prices"] as? [[String: Any]]) ?? [] }
        XCTAssertTrue(prices.allSatisfy { ($0["price"] as? String).flatMap { try? Money(parsing: $0) } != nil })

        let anthropic = try XCTUnwrap(try server.get("/v1/pricing?provider=anthropic", token: token).json()["data"] as? [[String: Any]])
        XCTAssertFalse(anthropic.isEmpty)
        XCTAssertTrue(anthropic.allSatisfy { $0["provider"] as? String == "anthropic" })

        // A LiteLLM-format file becomes the new current version; the old one stays stored.
        let litellm = FileManager.default.temporaryDirectory.appendingPathComponent("litellm-\(UUID()).json")
        try Data(#"""
            {"claude-sonnet-4-5": {"litellm_provider": "anthropic", "mode": "chat",
              "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
              "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06}}
            """#.utf8).write(to: litellm)
        defer { try? FileManager.default.removeItem(at: litellm) }
        let second = try importer.run(file: litellm)
        XCTAssertTrue(second.imported)
        XCTAssertNotNil(second.diff)
        XCTAssertTrue(second.lines.contains { $0.contains("against the previous version") })
        let current = try server.get("/v1/pricing", token: token).json()
        XCTAssertEqual(current["id"] as? String, second.version.id)
        let stored = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
            .query("select count(*)::int as n from pricing.versions")[0].decode("n", as: Int.self)
        XCTAssertEqual(stored, 2)
    }
}

final class PricingImportModeTests: XCTestCase {
    private static let catalog = TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json")
    private static let litellm = TestServer.repositoryRoot.appendingPathComponent("Tests/Fixtures/litellm-model-prices-trimmed.json")

    func testALiteLLMImportUpdatesWhatItNamesAndReplaceRemovesTheRest() throws {
        let server = try TestServer()
        defer { server.stop() }
        let token = try server.signUp("import-modes@example.com").accessToken
        let importer = PricingImport(store: server.environment.pricing)
        let shipped = try importer.run(file: Self.catalog)

        // LiteLLM's real file, unmodified: imported, with a per-model report of fields used and skipped.
        let update = try importer.run(file: Self.litellm, today: Date(timeIntervalSince1970: 1_800_000_000))
        XCTAssertTrue(update.imported)
        XCTAssertFalse(update.replaced)
        XCTAssertTrue(update.lines.contains("openai gpt-5.4 from 1 entry"), "\(update.lines.prefix(40))")
        XCTAssertTrue(update.lines.contains { $0.hasPrefix("  used    gpt-5.4.output_cost_per_token_above_272k_tokens → output_token above 272000") })
        XCTAssertTrue(update.lines.contains { $0.hasPrefix("  skipped fal_ai/openai/gpt-image-2.output_cost_per_image: ") })
        XCTAssertEqual(update.diff?.modelsRemoved, [], "an update keeps every model it does not name")
        XCTAssertEqual(update.diff?.removed, [])
        for provider in ["local", "openrouter"] {
            let rows = try XCTUnwrap(try server.get("/v1/pricing?provider=\(provider)", token: token).json()["data"] as? [[String: Any]])
            XCTAssertFalse(rows.isEmpty, "\(provider) kept")
        }

        // --replace: the file as it stands; the report lists what it removes.
        let replaced = try importer.run(file: Self.litellm, replace: true, today: Date(timeIntervalSince1970: 1_800_000_100))
        XCTAssertTrue(replaced.imported)
        XCTAssertTrue(replaced.lines.contains("  removed model local/*"), "\(replaced.lines.suffix(30))")
        let local = try XCTUnwrap(try server.get("/v1/pricing?provider=local", token: token).json()["data"] as? [[String: Any]])
        XCTAssertTrue(local.isEmpty)

        // Old versions stay: a cost can still be computed against the shipped one.
        let old = try server.post("/v1/costs", ["provider": "local", "model": "espeak", "pricing_version": shipped.version.id,
                                                "usage": ["characters": 100]], token: token)
        XCTAssertEqual(try old.json()["status"] as? String, "free", old.text)
    }
}

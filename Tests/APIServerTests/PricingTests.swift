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

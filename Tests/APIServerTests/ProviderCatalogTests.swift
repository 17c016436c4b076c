@testable import APIServer
import Foundation
import TestSupport
import XCTest

final class ProviderCatalogTests: XCTestCase {
    func testCatalogListsEveryProviderWithModelsAndParameters() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.signUp("catalog@example.com")
        assertAuthProblem(try server.get("/v1/providers", token: nil), 401, "no_authorization")

        let response = try server.get("/v1/providers", token: session.accessToken)
        XCTAssertEqual(response.status, 200, response.text)
        let data = try XCTUnwrap(try response.json()["data"] as? [[String: Any]])
        XCTAssertEqual(data.compactMap { $0["id"] as? String },
                       ["openai", "anthropic", "openrouter", "elevenlabs", "runway", "veo", "fal", "local"])
        let local = try XCTUnwrap(data.first { $0["id"] as? String == "local" })
        XCTAssertEqual(local["is_offline"] as? Bool, true)
        XCTAssertEqual(local["requires_key"] as? Bool, false)
        XCTAssertTrue((local["kinds"] as? [String])?.contains("image") == true)
        let openai = try XCTUnwrap(data.first { $0["id"] as? String == "openai" })
        let models = try XCTUnwrap(openai["models"] as? [[String: Any]])
        XCTAssertFalse(models.isEmpty)
        let parameters = models.flatMap { ($0["parameters"] as? [[String: Any]]) ?? [] }
        XCTAssertTrue(parameters.allSatisfy { $0["name"] is String && $0["type"] is String })

        let video = try server.get("/v1/providers?kind=video", token: session.accessToken)
        let videoIDs = try XCTUnwrap(try video.json()["data"] as? [[String: Any]]).compactMap { $0["id"] as? String }
        XCTAssertTrue(videoIDs.contains("runway") && videoIDs.contains("veo"))
        XCTAssertFalse(videoIDs.contains("anthropic"))
        let bad = try server.get("/v1/providers?kind=smell", token: session.accessToken)
        XCTAssertEqual(bad.status, 422)
    }
}

final class PricedModelCatalogTests: XCTestCase {
    func testTheCatalogListsEveryModelThePriceListPricesForAModelIndependentAdapter() throws {
        let server = try TestServer()
        defer { server.stop() }
        let token = try server.signUp("priced-models@example.com").accessToken
        func models(_ provider: String) throws -> [String] {
            let data = try XCTUnwrap(try server.get("/v1/providers", token: token).json()["data"] as? [[String: Any]])
            let entry = try XCTUnwrap(data.first { $0["id"] as? String == provider })
            return ((entry["models"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        }
        XCTAssertFalse(try models("openai").contains("gpt-5.4"), "no price list yet: the adapter's own list only")
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let openAI = try models("openai")
        XCTAssertTrue(["gpt-5.4", "gpt-5.5", "o3", "gpt-image-2"].allSatisfy(openAI.contains), "\(openAI)")
        XCTAssertTrue(try models("veo").contains("veo-3.1-generate-preview"))
        XCTAssertTrue(try models("elevenlabs").contains("eleven_v4"))
        XCTAssertTrue(try models("anthropic").contains("claude-opus-4-8"))
        XCTAssertTrue(try models("fal").contains("fal-ai/nano-banana"))
    }
}

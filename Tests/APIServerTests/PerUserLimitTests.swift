@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// What one account may create: `PROJECTS_PER_USER` projects and `API_KEYS_PER_USER` provider keys,
/// then 409 naming the limit; deleting one makes room, and another account is not held to the first's count.
final class PerUserLimitTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["PROJECTS_PER_USER": "3", "API_KEYS_PER_USER": "2"])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
    }

    override func tearDown() {
        server?.stop()
    }

    func testProjectsStopAtTheLimitAndADeleteMakesRoom() throws {
        let token = try server.signUp("many-projects@example.com").accessToken
        // The chat surface's default project, made on first use, is not counted.
        let chat = try server.connect().request("POST", "/v1/chat/completions", headers: [
            "Authorization": "Bearer \(token)", "Content-Type": "application/json"],
            body: try JSONSerialization.data(withJSONObject: ["model": "local/offline-text", "messages": [["role": "user", "content": "Hi"]]]))
        XCTAssertEqual(chat.status, 200, chat.text)
        XCTAssertEqual((try server.get("/v1/projects", token: token).json()["data"] as? [Any])?.count, 1, "the default project")
        var ids: [String] = []
        for index in 1...3 {
            ids.append(try XCTUnwrap(try server.createProject(["name": "P\(index)"], token: token)["id"] as? String))
        }
        let fourth = try server.post("/v1/projects", ["name": "P4"], token: token)
        XCTAssertEqual(fourth.status, 409, fourth.text)
        XCTAssertEqual(try fourth.json()["code"] as? String, "project_limit_reached")
        XCTAssertEqual((try server.get("/v1/projects", token: token).json()["data"] as? [Any])?.count, 4, "nothing was made")
        XCTAssertEqual(try server.send("DELETE", "/v1/projects/\(ids[0])", token: token).status, 204)
        XCTAssertEqual(try server.post("/v1/projects", ["name": "P4"], token: token).status, 201)
        let other = try server.signUp("few-projects@example.com").accessToken
        XCTAssertEqual(try server.post("/v1/projects", ["name": "Mine"], token: other).status, 201)
    }

    func testProviderKeysStopAtTheLimitAndADeleteMakesRoom() throws {
        let token = try server.signUp("many-keys@example.com").accessToken
        func store(_ provider: ProviderID) throws -> HTTPTestConnection.Response {
            try server.post("/v1/api-keys", ["provider": provider.rawValue, "label": "main", "key": ApiKeyTests.sampleKey(provider)], token: token)
        }
        let first = try store(.openai)
        XCTAssertEqual(first.status, 201, first.text)
        XCTAssertEqual(try store(.anthropic).status, 201)
        let third = try store(.openrouter)
        XCTAssertEqual(third.status, 409, third.text)
        XCTAssertEqual(try third.json()["code"] as? String, "api_key_limit_reached")
        XCTAssertFalse(third.text.contains(ApiKeyTests.sampleKey(.openrouter)), "the key is never echoed")
        XCTAssertEqual(try server.send("DELETE", "/v1/api-keys/\(try first.json()["id"] as? String ?? "")", token: token).status, 204)
        XCTAssertEqual(try store(.openrouter).status, 201)
    }
}

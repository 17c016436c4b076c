@testable import APIServer
import Foundation
import Persistence
import TestSupport
import XCTest

/// The refusals of `POST /v1/generations` that need a server in a particular state: no price list
/// loaded, and an Idempotency-Key whose first request never finished being admitted.
final class GenerationRefusalTests: XCTestCase {
    func testWithoutAPriceListNothingIsAdmitted() throws {
        let server = try TestServer()
        defer { server.stop() }
        let token = try server.signUp("no-prices@example.com").accessToken
        let project = try XCTUnwrap(try server.createProject(["name": "Unpriced"], token: token)["id"] as? String)
        let response = try server.generate(["project_id": project, "type": "text", "prompt": "Hello"], token: token)
        XCTAssertEqual(response.status, 503, response.text)
        XCTAssertEqual(try response.json()["code"] as? String, "pricing_unavailable")
        XCTAssertEqual(try server.budget(of: project, token: token).reserved, .zero, "nothing was reserved")
    }

    /// A first request that claimed the key and is still being admitted (here: one whose process
    /// stopped right after claiming it) holds a duplicate for the wait, then the duplicate is told so.
    func testADuplicateOfAKeyStillBeingAdmittedIsAConflictAfterTheWait() throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let token = try server.signUp("pending-key@example.com").accessToken
        let project = try XCTUnwrap(try server.createProject(["name": "Pending"], token: token)["id"] as? String)
        let body = try JSONSerialization.data(withJSONObject: ["project_id": project, "type": "text", "prompt": "Once"])
        let hash = GenerationHandlers.requestHash(HTTPRequest(method: "POST", path: "/v1/generations", query: [:], headers: [:],
                                                              body: body, requestID: "test"))
        let owner = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
        _ = try owner.query("""
            insert into public.idempotency_keys (user_id, key, request_hash)
            select id, 'pending-1', \(hash) from auth.users where email = 'pending-key@example.com'
            """)

        let started = Date()
        let response = try HTTPTestConnection(port: server.port, timeoutSeconds: 30).request("POST", "/v1/generations", headers: [
            "Content-Type": "application/json", "Authorization": "Bearer \(token)", "Idempotency-Key": "pending-1",
        ], body: body)
        XCTAssertEqual(response.status, 409, response.text)
        XCTAssertEqual(try response.json()["code"] as? String, "idempotency_in_progress")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 4.5, "the duplicate waited for the first answer")
        let list = try server.get("/v1/generations?project_id=\(project)", token: token).json()
        XCTAssertEqual((list["data"] as? [Any])?.count, 0, "the duplicate admitted nothing")
    }

    func testWithoutAPriceListNoBatchIsAdmitted() throws {
        let server = try TestServer()
        defer { server.stop() }
        let token = try server.signUp("no-prices-batch@example.com").accessToken
        let project = try XCTUnwrap(try server.createProject(["name": "Unpriced batch"], token: token)["id"] as? String)
        let response = try server.post("/v1/generations/batch", ["project_id": project, "items": [["type": "text", "prompt": "Hi"]]], token: token)
        XCTAssertEqual(response.status, 503, response.text)
        XCTAssertEqual(try response.json()["code"] as? String, "pricing_unavailable")
    }

    /// A batch with a key whose first request is still being admitted is refused at once.
    func testABatchWithAKeyStillBeingAdmittedIsAConflict() throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let token = try server.signUp("pending-batch@example.com").accessToken
        let project = try XCTUnwrap(try server.createProject(["name": "Pending batch"], token: token)["id"] as? String)
        let body = try JSONSerialization.data(withJSONObject: ["project_id": project, "items": [["type": "text", "prompt": "Once"]]])
        let hash = GenerationHandlers.requestHash(HTTPRequest(method: "POST", path: "/v1/generations/batch", query: [:], headers: [:],
                                                              body: body, requestID: "test"))
        _ = try PostgresConnection(url: server.environment.config.migrationDatabaseURL).query("""
            insert into public.idempotency_keys (user_id, key, request_hash)
            select id, 'pending-batch', \(hash) from auth.users where email = 'pending-batch@example.com'
            """)
        let response = try HTTPTestConnection(port: server.port, timeoutSeconds: 30).request("POST", "/v1/generations/batch", headers: [
            "Content-Type": "application/json", "Authorization": "Bearer \(token)", "Idempotency-Key": "pending-batch",
        ], body: body)
        XCTAssertEqual(response.status, 409, response.text)
        XCTAssertEqual(try response.json()["code"] as? String, "idempotency_in_progress")
    }
}

@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// `If-None-Match` on every read that sends an `ETag`: a client holding the current
/// representation gets 304 without a body; any other tag gets the representation.
final class ConditionalGetTests: XCTestCase {
    private var server: TestServer!
    private var token = ""

    override func setUpWithError() throws {
        server = try TestServer()
        token = try server.signUp("conditional@example.com").accessToken
    }

    override func tearDown() {
        server?.stop()
    }

    private func get(_ path: String, ifNoneMatch: String) throws -> HTTPTestConnection.Response {
        try server.connect().request("GET", path, headers: ["Authorization": "Bearer \(token)", "If-None-Match": ifNoneMatch])
    }

    private func assertRevalidates(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let first = try server.get(path, token: token)
        XCTAssertEqual(first.status, 200, first.text, file: file, line: line)
        let etag = try XCTUnwrap(first.header("etag"), file: file, line: line)
        for header in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
            let again = try get(path, ifNoneMatch: header)
            XCTAssertEqual(again.status, 304, "\(path) with If-None-Match \(header)", file: file, line: line)
            XCTAssertTrue(again.body.isEmpty, file: file, line: line)
            XCTAssertEqual(again.header("etag"), etag, file: file, line: line)
        }
        let stale = try get(path, ifNoneMatch: "\"not-the-current-one\"")
        XCTAssertEqual(stale.status, 200, file: file, line: line)
        XCTAssertEqual(stale.body, first.body, file: file, line: line)
    }

    func testProjectsRevalidate() throws {
        let project = try XCTUnwrap(try server.createProject(["name": "Cached"], token: token)["id"] as? String)
        try assertRevalidates("/v1/projects/\(project)")
    }

    func testProviderConfigurationsRevalidate() throws {
        try assertRevalidates("/v1/provider-configs/openai")
    }

    func testAssetContentRevalidates() throws {
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let project = try XCTUnwrap(try server.createProject(["name": "Assets"], token: token)["id"] as? String)
        let generation = try server.generate(["project_id": project, "type": "text", "prompt": "Cache me"], token: token, wait: 60)
        XCTAssertEqual(generation.status, 200, generation.text)
        let outputs = try XCTUnwrap(try generation.json()["outputs"] as? [[String: Any]])
        let url = try XCTUnwrap(outputs.first?["url"] as? String)
        try assertRevalidates(url)
    }

    func testAnErrorIsNeverTurnedInto304() throws {
        let missing = try get("/v1/projects/\(UUID().uuidString.lowercased())", ifNoneMatch: "*")
        XCTAssertEqual(missing.status, 404)
    }
}

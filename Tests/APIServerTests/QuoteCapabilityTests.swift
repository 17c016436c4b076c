@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// Quote parameters against the chosen model's capabilities, the bounds on every number a
/// quote takes, and which candidate the budget's `remaining_after` speaks for.
final class QuoteCapabilityTests: XCTestCase {
    private var server: TestServer!
    private var token = ""
    private var projectID = ""

    override func setUpWithError() throws {
        server = try TestServer()
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("capabilities@example.com").accessToken
        projectID = try XCTUnwrap(try server.createProject(["name": "Caps", "budget_limit": "100"], token: token)["id"] as? String)
    }

    override func tearDown() {
        server?.stop()
    }

    private func quote(_ body: [String: Any]) throws -> HTTPTestConnection.Response {
        try server.post("/v1/quotes", body, token: token)
    }

    private func errors(_ response: HTTPTestConnection.Response) throws -> [[String: Any]] {
        try XCTUnwrap(try response.json()["errors"] as? [[String: Any]], response.text)
    }

    /// The reported crash: the megapixel arithmetic overflowed `Int` and aborted the process.
    func testHugeImageSizeIsRefusedAndTheServerLives() throws {
        let response = try quote(["project_id": projectID, "type": "image", "prompt": "a kite",
                                  "parameters": ["size": "9999999999x9999999999"]])
        XCTAssertEqual(response.status, 422, response.text)
        XCTAssertEqual(response.header("content-type"), "application/problem+json")
        XCTAssertEqual(try errors(response).first?["field"] as? String, "parameters.size")
        let health = try server.connect().request("GET", "/healthz")
        XCTAssertEqual(health.status, 200, "the server must still answer after the request")
    }

    func testNamedModelRefusingASizeIsA422NamingTheFieldAndTheAllowedValues() throws {
        let response = try quote(["project_id": projectID, "type": "image", "prompt": "a kite", "provider": "fal",
                                  "model": "fal-ai/flux/dev", "parameters": ["size": "1024x1024"]])
        XCTAssertEqual(response.status, 422, response.text)
        let error = try XCTUnwrap(try errors(response).first)
        XCTAssertEqual(error["field"] as? String, "parameters.size")
        XCTAssertEqual(error["code"] as? String, "unsupported_value")
        let message = try XCTUnwrap(error["message"] as? String)
        XCTAssertTrue(message.contains("landscape_4_3") && message.contains("square_hd"), message)
    }

    func testNamedModelRefusingCountAboveItsLimit() throws {
        let response = try quote(["project_id": projectID, "type": "image", "prompt": "a kite", "provider": "local",
                                  "model": "offline-image", "parameters": ["size": "512x512", "count": 5]])
        XCTAssertEqual(response.status, 422, response.text)
        let error = try XCTUnwrap(try errors(response).first)
        XCTAssertEqual(error["field"] as? String, "parameters.count")
        XCTAssertTrue((error["message"] as? String ?? "").contains("1 and 4"), "\(error)")
    }

    func testNamedModelRefusingADurationNotInItsList() throws {
        let response = try quote(["project_id": projectID, "type": "video", "prompt": "waves", "provider": "veo",
                                  "model": "veo-3.1-generate-001", "parameters": ["duration_seconds": 5]])
        XCTAssertEqual(response.status, 422, response.text)
        let error = try XCTUnwrap(try errors(response).first)
        XCTAssertEqual(error["field"] as? String, "parameters.duration_seconds")
        XCTAssertTrue((error["message"] as? String ?? "").contains("4, 6, 8"), "\(error)")
    }

    func testRoutingListsCandidatesThatCannotTakeTheParametersAsNotAdmitted() throws {
        // 512x512 is one of the offline model's sizes and none of FAL's presets.
        let response = try quote(["project_id": projectID, "type": "image", "prompt": "a kite", "parameters": ["size": "512x512"]])
        XCTAssertEqual(response.status, 200, response.text)
        let candidates = try XCTUnwrap(try response.json()["candidates"] as? [[String: Any]])
        let fal = try XCTUnwrap(candidates.first { $0["provider"] as? String == "fal" }, "\(candidates)")
        XCTAssertEqual(fal["admitted"] as? Bool, false)
        XCTAssertTrue((fal["reasons"] as? [String] ?? []).contains("unsupported_parameters"), "\(fal)")
        let local = try XCTUnwrap(candidates.first { $0["provider"] as? String == "local" })
        XCTAssertEqual(local["admitted"] as? Bool, true, "\(local)")
        XCTAssertFalse((local["reasons"] as? [String] ?? []).contains("unsupported_parameters"))
    }

    func testRemainingAfterUsesTheFirstAdmittedCandidateInRoutingOrder() throws {
        // Two keys: both paid text providers are admitted; the router takes the first of them,
        // which need not be the cheapest.
        for (provider, key) in [("openai", "sk-proj-" + ApiKeyTests.hex(48)), ("anthropic", "sk-ant-api03-" + ApiKeyTests.hex(80))] {
            let stored = try server.post("/v1/api-keys", ["provider": provider, "label": provider, "key": key], token: token)
            XCTAssertEqual(stored.status, 201, stored.text)
        }
        let response = try quote(["project_id": projectID, "type": "text", "prompt": "Write a haiku.",
                                  "parameters": ["max_output_tokens": 1000]])
        XCTAssertEqual(response.status, 200, response.text)
        let body = try response.json()
        let candidates = try XCTUnwrap(body["candidates"] as? [[String: Any]])
        let first = try XCTUnwrap(candidates.first { $0["admitted"] as? Bool == true }, "\(candidates)")
        let admittedTotals = try candidates.filter { $0["admitted"] as? Bool == true }.map { try Money(parsing: try XCTUnwrap($0["total"] as? String)) }
        XCTAssertGreaterThan(admittedTotals.count, 1, "the test needs a choice between admitted candidates")
        let budget = try XCTUnwrap((body["budgets"] as? [[String: Any]])?.first)
        XCTAssertEqual(budget["admitted_candidate_rank"] as? Int, first["rank"] as? Int)
        let firstTotal = try Money(parsing: try XCTUnwrap(first["total"] as? String))
        let remainingAfter = try Money(parsing: try XCTUnwrap(budget["remaining_after"] as? String))
        XCTAssertEqual(remainingAfter, try Money(parsing: "100") - firstTotal)
        // The test can only tell "first" from "cheapest" when they differ; with the shipped
        // catalog they do (the first admitted text model is not the cheapest one).
        let cheapest = try XCTUnwrap(admittedTotals.min())
        XCTAssertNotEqual(cheapest, firstTotal, "the catalog changed: pick parameters where the first admitted candidate is not the cheapest")
        XCTAssertNotEqual(remainingAfter, try Money(parsing: "100") - cheapest)
    }

    func testNumbersOutsideTheirRangeAreRefusedPerField() throws {
        let cases: [(String, Any, String)] = [
            ("count", 0, "parameters.count"), ("count", 2_147_483_648, "parameters.count"), ("count", 9_223_372_036_854_775_807, "parameters.count"),
            ("max_output_tokens", -1, "parameters.max_output_tokens"), ("duration_seconds", 100_000, "parameters.duration_seconds"),
            ("size", "0x512", "parameters.size"), ("size", String(repeating: "9", count: 40) + "x1", "parameters.size"),
        ]
        var refused: [String] = []
        for (name, value, field) in cases {
            let response = try quote(["project_id": projectID, "type": "image", "prompt": "a kite", "parameters": [name: value]])
            if response.status == 422, try errors(response).contains(where: { $0["field"] as? String == field }) { refused.append(field) }
        }
        XCTAssertEqual(refused, cases.map(\.2))
        XCTAssertEqual(try server.connect().request("GET", "/healthz").status, 200)
    }
}

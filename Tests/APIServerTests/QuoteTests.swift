@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

final class QuoteTests: XCTestCase {
    private var server: TestServer!
    private var token = ""

    override func setUpWithError() throws {
        server = try TestServer()
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("quotes@example.com").accessToken
    }

    override func tearDown() {
        server.stop()
    }

    private func quote(_ body: [String: Any]) throws -> HTTPTestConnection.Response {
        try server.post("/v1/quotes", body, token: token)
    }

    func testTextQuoteListsCandidatesInRoutingOrderWithExactTotals() throws {
        let project = try server.createProject(["name": "Film", "budget_limit": "50", "budget_period": "monthly"], token: token)
        let projectID = try XCTUnwrap(project["id"] as? String)
        let stored = try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": "sk-proj-" + ApiKeyTests.hex(48)], token: token)
        XCTAssertEqual(stored.status, 201, stored.text)
        let response = try quote(["project_id": projectID, "type": "text", "prompt": "Write a haiku about the sea.",
                                  "parameters": ["max_output_tokens": 200]])
        XCTAssertEqual(response.status, 200, response.text)
        let body = try response.json()
        let candidates = try XCTUnwrap(body["candidates"] as? [[String: Any]])
        XCTAssertEqual(candidates.compactMap { $0["rank"] as? Int }, Array(1...candidates.count))
        XCTAssertEqual(candidates.last?["provider"] as? String, "local", "the offline provider is the last resort")
        XCTAssertEqual(candidates.last?["cost_status"] as? String, "free")
        let openai = try XCTUnwrap(candidates.first { $0["provider"] as? String == "openai" })
        XCTAssertEqual(openai["cost_status"] as? String, "priced")
        XCTAssertEqual(openai["basis"] as? String, "worst_case")
        XCTAssertEqual(openai["max_output_tokens"] as? Int, 200)
        // The total is the exact sum of the lines.
        let lines = try XCTUnwrap(openai["lines"] as? [[String: Any]])
        let sum = try lines.reduce(Money.zero) { $0 + (try Money(parsing: try XCTUnwrap($1["subtotal"] as? String))) }
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(openai["total"] as? String)), sum)
        XCTAssertEqual(openai["admitted"] as? Bool, true, "\(openai)")
        let anthropic = try XCTUnwrap(candidates.first { $0["provider"] as? String == "anthropic" })
        XCTAssertEqual(anthropic["admitted"] as? Bool, false)
        XCTAssertEqual(anthropic["reasons"] as? [String], ["no_api_key"], "no key stored for this provider")
        let budget = try XCTUnwrap((body["budgets"] as? [[String: Any]])?.first)
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(budget["limit"] as? String)), try Money(parsing: "50"))
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(budget["reserved"] as? String)), .zero)

        // Quoting has no side effects.
        let after = try server.get("/v1/projects/\(projectID)", token: token).json()
        XCTAssertEqual(try Money(parsing: try XCTUnwrap((after["budget"] as? [String: Any])?["reserved"] as? String)), .zero)
    }

    func testAdmissionSaysWhyNot() throws {
        let tight = try server.createProject(["name": "Tight", "budget_limit": "0.000001", "budget_period": "total"], token: token)
        let response = try quote(["project_id": try XCTUnwrap(tight["id"] as? String), "type": "image", "prompt": "a red kite",
                                  "parameters": ["n": 2, "size": "1024x1024", "quality": "high"], "max_cost_usd": "0.00001"])
        XCTAssertEqual(response.status, 200, response.text)
        let candidates = try XCTUnwrap(try response.json()["candidates"] as? [[String: Any]])
        for candidate in candidates where candidate["cost_status"] as? String == "priced" {
            let reasons = candidate["reasons"] as? [String] ?? []
            XCTAssertEqual(candidate["admitted"] as? Bool, false)
            XCTAssertTrue(reasons.contains("over_project_budget") && reasons.contains("over_max_cost"), "\(candidate)")
        }
        for candidate in candidates where candidate["cost_status"] as? String == "unpriced" {
            XCTAssertNil(candidate["total"], "an unknown price is never a total of 0")
            XCTAssertTrue((candidate["reasons"] as? [String])?.contains("unpriced") == true)
        }
        XCTAssertTrue(candidates.contains { $0["provider"] as? String == "local" && $0["admitted"] as? Bool == true })
    }

    func testBadRequestsAndForeignProjects() throws {
        let project = try server.createProject(["name": "Mine"], token: token)
        let projectID = try XCTUnwrap(project["id"] as? String)
        let invalid = try quote(["project_id": projectID, "type": "smell", "prompt": "x", "max_cost_usd": "1e3"])
        XCTAssertEqual(invalid.status, 422)
        let fields = (try invalid.json()["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
        XCTAssertEqual(Set(fields), ["type", "max_cost_usd"])
        let noModel = try quote(["project_id": projectID, "type": "text", "prompt": "x", "model": "no-such-model"])
        XCTAssertEqual(noModel.status, 422)
        XCTAssertEqual((try noModel.json()["errors"] as? [[String: Any]])?.first?["code"] as? String, "no_provider")

        let stranger = try server.signUp("stranger@example.com").accessToken
        let foreign = try server.post("/v1/quotes", ["project_id": projectID, "type": "text", "prompt": "x"], token: stranger)
        XCTAssertEqual(foreign.status, 404)
    }
}

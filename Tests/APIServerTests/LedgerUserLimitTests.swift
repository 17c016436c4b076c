@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// `GET/PUT /v1/user-budget`: the user's own monthly limit across all projects, the third ledger
/// scope every admission reserves on.
final class LedgerUserLimitTests: XCTestCase {
    private var server: TestServer!
    private var token = ""

    override func setUpWithError() throws {
        // Nothing is ever sent to the provider here (admission refuses first); a closed port anyway.
        server = try TestServer(environment: ["OPENAI_BASE_URL": "http://127.0.0.1:9/v1"])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("user-limit@example.com").accessToken
        let stored = try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)], token: token)
        XCTAssertEqual(stored.status, 201, stored.text)
    }

    override func tearDown() {
        server.stop()
    }

    func testTheLimitIsReadSetAndClearedAndAdmissionRefusesPastItNamingTheUserScope() throws {
        let initial = try server.send("GET", "/v1/user-budget", token: token)
        XCTAssertEqual(initial.status, 200, initial.text)
        let empty = try initial.json()
        XCTAssertTrue(empty["monthly_limit"] is NSNull, "\(empty)")
        XCTAssertTrue(empty["remaining"] is NSNull)
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(empty["spent"] as? String)), .zero)
        XCTAssertEqual(empty["period"] as? String, "monthly")

        let set = try server.send("PUT", "/v1/user-budget", ["monthly_limit": "0.0000001"], token: token)
        XCTAssertEqual(set.status, 200, set.text)
        XCTAssertEqual(try set.json()["monthly_limit"] as? String, "0.0000001")
        XCTAssertEqual(try server.send("GET", "/v1/user-budget", token: token).json()["remaining"] as? String, "0.0000001")

        // The project has no limit of its own: the user's limit is what refuses.
        let project = try XCTUnwrap(try server.createProject(["name": "Unlimited"], token: token)["id"] as? String)
        let refused = try server.generate(["project_id": project, "type": "text", "prompt": "hello", "provider": "openai",
                                           "parameters": ["max_output_tokens": 100]], token: token)
        XCTAssertEqual(refused.status, 402, refused.text)
        let budget = try XCTUnwrap(try refused.json()["budget"] as? [String: Any])
        XCTAssertEqual(budget["scope"] as? String, "user")
        XCTAssertEqual(budget["limit"] as? String, "0.0000001")
        XCTAssertEqual(try server.budget(of: project, token: token).reserved, .zero, "nothing reserved anywhere")

        let cleared = try server.send("PUT", "/v1/user-budget", ["monthly_limit": NSNull()], token: token)
        XCTAssertEqual(cleared.status, 200, cleared.text)
        XCTAssertTrue(try cleared.json()["monthly_limit"] is NSNull)
        XCTAssertTrue(try server.send("GET", "/v1/user-budget", token: token).json()["monthly_limit"] is NSNull)
    }

    func testBadBodiesAndMissingTokensAreRefused() throws {
        for body in [[:], ["monthly_limit": 5], ["monthly_limit": "-1"], ["monthly_limit": "1.5e3"]] as [[String: Any]] {
            let response = try server.send("PUT", "/v1/user-budget", body, token: token)
            XCTAssertEqual(response.status, 422, "\(body): \(response.text)")
            XCTAssertEqual(try response.json()["code"] as? String, "validation_failed", "\(body)")
        }
        let unknown = try server.send("PUT", "/v1/user-budget", ["monthly_limit": "1", "currency": "EUR"], token: token)
        XCTAssertEqual(unknown.status, 422)
        XCTAssertEqual(try unknown.json()["code"] as? String, "unknown_field")
        let malformed = try server.connect().request("PUT", "/v1/user-budget", headers: ["Authorization": "Bearer \(token)",
                                                                                          "Content-Type": "application/json"],
                                                     body: Data("{\"monthly_limit\": ".utf8))
        XCTAssertEqual(malformed.status, 400, malformed.text)
        XCTAssertEqual(try server.connect().request("GET", "/v1/user-budget").status, 401)
        XCTAssertEqual(try server.connect().request("PUT", "/v1/user-budget", headers: ["Content-Type": "application/json"],
                                                    body: Data("{\"monthly_limit\": null}".utf8)).status, 401)
        XCTAssertTrue(try server.send("GET", "/v1/user-budget", token: token).json()["monthly_limit"] is NSNull, "nothing was stored")
    }

    /// A quote shows what the user's own monthly limit leaves (`over_user_budget`), and a generation
    /// passes over a candidate it cannot hold for the next, as the quote says; named alone, such a
    /// provider is 402 on the user scope. (Quotes ignored the limit and called OpenAI admitted.)
    func testQuotesNameTheUsersLimitAndAGenerationRunsWhereItsQuoteSays() throws {
        XCTAssertEqual(try server.send("PUT", "/v1/user-budget", ["monthly_limit": "0.00005"], token: token).status, 200)
        let project = try XCTUnwrap(try server.createProject(["name": "Unlimited"], token: token)["id"] as? String)
        let body: [String: Any] = ["project_id": project, "type": "text", "prompt": "hello", "parameters": ["max_output_tokens": 100]]
        let quoted = try server.post("/v1/quotes", body, token: token)
        XCTAssertEqual(quoted.status, 200, quoted.text)
        let candidates = try XCTUnwrap(try quoted.json()["candidates"] as? [[String: Any]])
        let openai = try XCTUnwrap(candidates.first { $0["provider"] as? String == "openai" })
        XCTAssertEqual(openai["admitted"] as? Bool, false, "\(openai)")
        XCTAssertEqual(openai["reasons"] as? [String], ["over_user_budget"])
        let rank = try XCTUnwrap((try quoted.json()["budgets"] as? [[String: Any]])?.first?["admitted_candidate_rank"] as? Int)
        let taken = try XCTUnwrap(candidates[rank - 1]["provider"] as? String)
        XCTAssertEqual(taken, "local")
        let generated = try server.generate(body, token: token, wait: 20)
        XCTAssertEqual(generated.status, 200, generated.text)
        XCTAssertEqual(try generated.json()["provider"] as? String, taken)

        var pinned = body
        pinned["provider"] = "openai"
        let pinnedQuote = try server.post("/v1/quotes", pinned, token: token)
        XCTAssertEqual(pinnedQuote.status, 200, pinnedQuote.text)
        XCTAssertNil((try pinnedQuote.json()["budgets"] as? [[String: Any]])?.first?["admitted_candidate_rank"], pinnedQuote.text)
        let refused = try server.generate(pinned, token: token)
        XCTAssertEqual(refused.status, 402, refused.text)
        XCTAssertEqual((try refused.json()["budget"] as? [String: Any])?["scope"] as? String, "user")
    }
}

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
        server?.stop()
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
                                  "parameters": ["count": 2, "size": "1024x1024"], "max_cost_usd": "0.00001"])
        XCTAssertEqual(response.status, 200, response.text)
        let candidates = try XCTUnwrap(try response.json()["candidates"] as? [[String: Any]])
        // Every candidate, in routing order, with its cost status.
        XCTAssertEqual(candidates.map { "\($0["provider"] as? String ?? "?") \($0["cost_status"] as? String ?? "?")" },
                       ["openai priced", "runway priced", "fal priced", "local free"], "\(candidates)")
        func reasons(_ provider: String) throws -> Set<String> {
            let candidate = try XCTUnwrap(candidates.first { $0["provider"] as? String == provider })
            XCTAssertEqual(candidate["admitted"] as? Bool, false, "\(candidate)")
            return Set(candidate["reasons"] as? [String] ?? [])
        }
        // OpenAI takes these parameters, so its reasons are exactly the key and the two limits.
        XCTAssertEqual(try reasons("openai"), ["no_api_key", "over_max_cost", "over_project_budget"])
        // Other candidates may also name parameters they cannot take; these reasons are always there.
        XCTAssertTrue(try reasons("fal").isSuperset(of: ["no_api_key", "over_max_cost", "over_project_budget"]))
        XCTAssertTrue(try reasons("runway").isSuperset(of: ["no_api_key", "unsupported_parameters"]))
        let priced = candidates.filter { $0["cost_status"] as? String == "priced" }
        XCTAssertEqual(priced.count, 3)
        XCTAssertTrue(priced.allSatisfy { $0["total"] is String }, "\(priced)")
        // Runway prices images by tier, which its default ratio (1920:1080) sets: 1080p, 8 credits each, two asked for.
        let runway = try XCTUnwrap(candidates.first { $0["provider"] as? String == "runway" })
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(runway["total"] as? String, "\(runway)")), try Money(parsing: "0.16"))
        let local = try XCTUnwrap(candidates.last)
        XCTAssertEqual(local["provider"] as? String, "local")
        XCTAssertEqual(local["admitted"] as? Bool, true, "the free offline provider fits any budget")
        XCTAssertEqual(local["reasons"] as? [String], [])
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(local["total"] as? String)), .zero)
    }

    /// A quote and the generation after it agree: a candidate the project's budget cannot hold is
    /// passed over for the next in routing order by both, so the generation runs where the quote
    /// said it would (it was refused 402 while the first candidate did not fit).
    func testAGenerationRunsOnTheCandidateItsQuoteAdmitsWhenTheFirstIsOverTheProjectBudget() throws {
        server.stop()
        // Nothing is sent to OpenAI (it does not fit); a closed port anyway.
        server = try TestServer(environment: ["OPENAI_BASE_URL": "http://127.0.0.1:9/v1"])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("small-budget@example.com").accessToken
        XCTAssertEqual(try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)],
                                       token: token).status, 201)
        let project = try XCTUnwrap(try server.createProject(["name": "Small", "budget_limit": "0.001"], token: token)["id"] as? String)
        let body: [String: Any] = ["project_id": project, "type": "text", "prompt": "Hi"]
        let quoted = try quote(body)
        XCTAssertEqual(quoted.status, 200, quoted.text)
        let candidates = try XCTUnwrap(try quoted.json()["candidates"] as? [[String: Any]])
        let openai = try XCTUnwrap(candidates.first)
        XCTAssertEqual(openai["provider"] as? String, "openai", "\(candidates)")
        XCTAssertEqual(openai["reasons"] as? [String], ["over_project_budget"])
        let rank = try XCTUnwrap((try quoted.json()["budgets"] as? [[String: Any]])?.first?["admitted_candidate_rank"] as? Int)
        let taken = try XCTUnwrap(candidates[rank - 1]["provider"] as? String)
        XCTAssertNotEqual(taken, "openai")
        let generated = try server.generate(body, token: token, wait: 20)
        XCTAssertEqual(generated.status, 200, generated.text)
        XCTAssertEqual(try generated.json()["provider"] as? String, taken, "the candidate its quote admitted")
        XCTAssertEqual(try generated.json()["status"] as? String, "succeeded")
    }

    func testAnUnknownPriceIsNeverAZeroTotal() throws {
        // A pricing version without Anthropic's prices, so its models are known but unpriced.
        let shipped = TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json")
        var catalog = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: shipped)) as? [String: Any])
        let models = try XCTUnwrap(catalog["models"] as? [[String: Any]])
        catalog["models"] = models.filter { $0["provider"] as? String != "anthropic" }
        catalog["version"] = "test-without-anthropic"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pricing-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: catalog).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        _ = try PricingImport(store: server.environment.pricing).run(file: file)

        let project = try server.createProject(["name": "Unpriced"], token: token)
        _ = try server.post("/v1/api-keys", ["provider": "anthropic", "label": "main", "key": SampleKeys.anthropic()], token: token)
        let response = try quote(["project_id": try XCTUnwrap(project["id"] as? String), "type": "text", "prompt": "hi",
                                  "provider": "anthropic"])
        XCTAssertEqual(response.status, 200, response.text)
        let candidates = try XCTUnwrap(try response.json()["candidates"] as? [[String: Any]])
        XCTAssertEqual(candidates.count, 1, "\(candidates)")
        let candidate = try XCTUnwrap(candidates.first)
        XCTAssertEqual(candidate["cost_status"] as? String, "unpriced", "\(candidate)")
        XCTAssertNil(candidate["total"], "an unknown price is never a total of 0")
        XCTAssertEqual(candidate["admitted"] as? Bool, false)
        XCTAssertEqual(candidate["reasons"] as? [String], ["unpriced"], "a key is stored, so the price is the only reason")
    }

    func testWithoutAPricingVersionAQuoteIs503() throws {
        let bare = try TestServer()
        defer { bare.stop() }
        let owner = try bare.signUp("no-prices@example.com").accessToken
        let project = try bare.createProject(["name": "No prices"], token: owner)
        let response = try bare.post("/v1/quotes", ["project_id": try XCTUnwrap(project["id"] as? String), "type": "text", "prompt": "x"],
                                     token: owner)
        XCTAssertEqual(response.status, 503, response.text)
        XCTAssertEqual(try response.json()["code"] as? String, "pricing_unavailable")
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

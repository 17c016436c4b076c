@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// OpenRouter and FAL serve models the price list does not know. Such a model is quoted as
/// `unpriced` (never as $0) and admitted only where the project opts into unpriced spend.
final class UnpricedOptInTests: XCTestCase {
    private var server: TestServer!
    private var token = ""

    override func setUpWithError() throws {
        server = try TestServer()
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("unpriced@example.com").accessToken
        for (provider, key) in [("openrouter", SampleKeys.openRouter()), ("fal", SampleKeys.fal())] {
            let stored = try server.post("/v1/api-keys", ["provider": provider, "label": provider, "key": key], token: token)
            XCTAssertEqual(stored.status, 201, stored.text)
        }
    }

    override func tearDown() {
        server?.stop()
    }

    private func candidate(_ project: String, type: String, provider: String, model: String) throws -> [String: Any] {
        let response = try server.post("/v1/quotes", ["project_id": project, "type": type, "prompt": "A lighthouse at dusk.",
                                                      "provider": provider, "model": model], token: token)
        XCTAssertEqual(response.status, 200, response.text)
        return try XCTUnwrap((try response.json()["candidates"] as? [[String: Any]])?.first, response.text)
    }

    func testTheOptInIsOffByDefaultAndSetWithCreateAndPatch() throws {
        let created = try server.createProject(["name": "Default"], token: token)
        XCTAssertEqual(created["allow_unpriced"] as? Bool, false)
        let id = try XCTUnwrap(created["id"] as? String)
        let patched = try server.send("PATCH", "/v1/projects/\(id)", ["allow_unpriced": true], token: token)
        XCTAssertEqual(patched.status, 200, patched.text)
        XCTAssertEqual(try patched.json()["allow_unpriced"] as? Bool, true)
        XCTAssertEqual(try server.get("/v1/projects/\(id)", token: token).json()["allow_unpriced"] as? Bool, true)
        let opted = try server.createProject(["name": "Opted", "allow_unpriced": true], token: token)
        XCTAssertEqual(opted["allow_unpriced"] as? Bool, true)
        let wrong = try server.send("PATCH", "/v1/projects/\(id)", ["allow_unpriced": "yes"], token: token)
        XCTAssertEqual(wrong.status, 422, wrong.text)
        XCTAssertEqual((try wrong.json()["errors"] as? [[String: Any]])?.first?["field"] as? String, "allow_unpriced")
    }

    func testAnUnlistedModelIsUnpricedAndAdmittedOnlyWithTheOptIn() throws {
        let id = try XCTUnwrap(try server.createProject(["name": "Unpriced", "budget_limit": "10"], token: token)["id"] as? String)
        for (type, provider, model) in [("text", "openrouter", "acme/brand-new-model"), ("image", "fal", "acme/brand-new-image")] {
            let refused = try candidate(id, type: type, provider: provider, model: model)
            XCTAssertEqual(refused["model"] as? String, model)
            XCTAssertEqual(refused["cost_status"] as? String, "unpriced", "\(refused)")
            XCTAssertNil(refused["total"] as? String, "an unknown price is not $0: \(refused)")
            XCTAssertEqual(refused["admitted"] as? Bool, false)
            XCTAssertEqual(refused["reasons"] as? [String], ["unpriced"])
        }
        XCTAssertEqual(try server.send("PATCH", "/v1/projects/\(id)", ["allow_unpriced": true], token: token).status, 200)
        for (type, provider, model) in [("text", "openrouter", "acme/brand-new-model"), ("image", "fal", "acme/brand-new-image")] {
            let admitted = try candidate(id, type: type, provider: provider, model: model)
            XCTAssertEqual(admitted["cost_status"] as? String, "unpriced", "\(admitted)")
            XCTAssertNil(admitted["total"] as? String, "\(admitted)")
            XCTAssertEqual(admitted["admitted"] as? Bool, true, "\(admitted)")
            XCTAssertEqual(admitted["reasons"] as? [String], [])
        }
        // A model neither provider can serve is still no candidate at all.
        let nonsense = try server.post("/v1/quotes", ["project_id": id, "type": "text", "prompt": "hi", "provider": "openrouter",
                                                      "model": "not a model id"], token: token)
        XCTAssertEqual(nonsense.status, 422, nonsense.text)
    }

    /// Without the opt-in a generation on an unpriced model is refused by name, never run at $0.
    func testAGenerationOnAnUnpricedModelIsRefusedAsUnpricedWithoutTheOptIn() throws {
        let id = try XCTUnwrap(try server.createProject(["name": "Gen", "budget_limit": "10"], token: token)["id"] as? String)
        let response = try server.post("/v1/generations", ["project_id": id, "type": "text", "prompt": "hi", "provider": "openrouter",
                                                           "model": "acme/brand-new-model"], token: token)
        XCTAssertEqual(response.status, 422, response.text)
        XCTAssertTrue(response.text.contains("unpriced"), response.text)
        let project = try server.get("/v1/projects/\(id)", token: token).json()
        XCTAssertEqual((project["budget"] as? [String: Any])?["reserved"] as? String, "0.00")
    }

    /// With the opt-in it runs (here through the fake OpenRouter, which reports `usage.cost`):
    /// nothing is reserved, the charge is the provider's reported cost, and the generation says
    /// `unpriced`, never a priced $0.
    func testAGenerationOnAnUnpricedModelRunsWithTheOptInChargedTheProvidersReportedCost() throws {
        let fake = try FakeProvidersProcess()
        defer { fake.stop() }
        let engine = try TestServer(environment: fake.baseURLs)
        defer { engine.stop() }
        _ = try PricingImport(store: engine.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let token = try engine.signUp("unpriced-run@example.com").accessToken
        XCTAssertEqual(try engine.post("/v1/api-keys", ["provider": "openrouter", "label": "or", "key": SampleKeys.openRouter()],
                                       token: token).status, 201)
        let id = try XCTUnwrap(try engine.createProject(["name": "Opted", "budget_limit": "10", "allow_unpriced": true],
                                                        token: token)["id"] as? String)
        let response = try engine.post("/v1/generations", ["project_id": id, "type": "text", "prompt": "hi", "provider": "openrouter",
                                                           "model": "acme/brand-new-model"], token: token, headers: ["Prefer": "wait=30"])
        XCTAssertEqual(response.status, 200, response.text)
        let body = try response.json()
        XCTAssertEqual(body["status"] as? String, "succeeded", "\(body)")
        XCTAssertEqual(body["cost_status"] as? String, "unpriced", "\(body)")
        XCTAssertEqual((body["candidates"] as? [[String: Any]])?.first?["unpriced"] as? Bool, true, "\(body)")
        XCTAssertEqual((body["cost_lines"] as? [Any])?.count, 0, "no price, so no priced lines: \(body)")
        let reported = try Money(parsing: try XCTUnwrap(body["provider_reported_cost_usd"] as? String, "\(body)"))
        XCTAssertGreaterThan(reported, .zero)
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)")), reported,
                       "charged what the provider reported")
        let budget = try engine.budget(of: id, token: token)
        XCTAssertEqual(budget.spent, reported)
        XCTAssertEqual(budget.reserved, .zero)
    }

    /// An unpriced generation reserves nothing, so it needs headroom (migration 136): a budget
    /// that unpriced charges filled to its limit admits no more unpriced work (before, a
    /// reservation of nothing still "fitted" a full budget, and its charge took it past the
    /// limit). A charge past the limit is recorded in full, and the scope refuses what follows.
    func testAnUnpricedGenerationNeedsHeadroomSoAFullBudgetAdmitsNoMoreUnpricedWork() throws {
        let fake = try FakeProvidersProcess()
        defer { fake.stop() }
        let engine = try TestServer(environment: fake.baseURLs)
        defer { engine.stop() }
        _ = try PricingImport(store: engine.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let token = try engine.signUp("unpriced-headroom@example.com").accessToken
        XCTAssertEqual(try engine.post("/v1/api-keys", ["provider": "openrouter", "label": "or", "key": SampleKeys.openRouter()],
                                       token: token).status, 201)
        let request: [String: Any] = ["type": "text", "prompt": "hi", "provider": "openrouter", "model": "acme/brand-new-model"]
        func generate(in project: String) throws -> HTTPTestConnection.Response {
            try engine.post("/v1/generations", request.merging(["project_id": project]) { $1 }, token: token, headers: ["Prefer": "wait=30"])
        }
        func project(limit: String) throws -> String {
            try XCTUnwrap(try engine.createProject(["name": "Limit \(limit)", "budget_period": "total", "budget_limit": limit,
                                                    "allow_unpriced": true], token: token)["id"] as? String)
        }
        // What the provider reports for this request (the fake's cost follows from the request).
        let probe = try generate(in: try project(limit: "10"))
        XCTAssertEqual(probe.status, 200, probe.text)
        let reported = try XCTUnwrap(try probe.json()["actual_cost_usd"] as? String, probe.text)
        // A budget of exactly one such charge: the first fills it, the next finds no room.
        let exact = try project(limit: reported)
        let first = try generate(in: exact)
        XCTAssertEqual(first.status, 200, first.text)
        XCTAssertEqual(try first.json()["actual_cost_usd"] as? String, reported, "the same request, the same reported cost")
        XCTAssertEqual(try engine.budget(of: exact, token: token).spent, try Money(parsing: reported), "the budget is full")
        let refused = try generate(in: exact)
        XCTAssertEqual(refused.status, 402, "a full budget admits no unpriced work: \(refused.text)")
        XCTAssertEqual(try refused.json()["code"] as? String, "budget_exceeded", refused.text)
        // Its quote says so too (it called the candidate admitted: nothing to reserve, nothing over).
        let quoted = try engine.post("/v1/quotes", request.merging(["project_id": exact]) { $1 }, token: token)
        XCTAssertEqual(quoted.status, 200, quoted.text)
        XCTAssertEqual((try quoted.json()["candidates"] as? [[String: Any]])?.first?["reasons"] as? [String], ["over_project_budget"],
                       quoted.text)
        // A budget smaller than the charge: admitted (there is room), charged in full (the provider
        // billed it: the overshoot is on the ledger), and nothing is admitted after it.
        let small = try project(limit: "0.0000000001")
        let over = try generate(in: small)
        XCTAssertEqual(over.status, 200, over.text)
        XCTAssertEqual(try engine.budget(of: small, token: token).spent, try Money(parsing: reported), "recorded in full, past the limit")
        XCTAssertEqual(try generate(in: small).status, 402, "a scope past its limit refuses what follows")
    }
}

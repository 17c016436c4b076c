@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// Generations through the real adapters against the `fake-providers` executable: exact charges,
/// fallback on retryable failures only, failures never charged, concurrent admissions never
/// overspending, and cancel.
final class GenerationProviderTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var fakePort: Int { fake?.port ?? 0 }
    private var server: TestServer!
    private var token = ""

    override func setUpWithError() throws {
        fake = try FakeProvidersProcess(arguments: ["--slow-seconds", "5"])
        server = try TestServer(environment: (fake?.baseURLs ?? [:]).merging(["DB_POOL_TIMEOUT_MS": "10000"]) { $1 })
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("engine@example.com").accessToken
        for provider in [ProviderID.openai, .anthropic, .runway] {
            let stored = try server.post("/v1/api-keys", ["provider": provider.rawValue, "label": "main", "key": ApiKeyTests.sampleKey(provider)],
                                         token: token)
            XCTAssertEqual(stored.status, 201, stored.text)
        }
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    private func project(limit: String? = nil) throws -> String {
        var body: [String: Any] = ["name": "Engine", "budget_period": "total"]
        if let limit { body["budget_limit"] = limit }
        return try XCTUnwrap(try server.createProject(body, token: token)["id"] as? String)
    }

    private func script(_ provider: String, _ behavior: String, times: Int = 1) throws {
        let response = try HTTPTestConnection(port: fakePort).request(
            "POST", "/_fake/script", headers: ["Content-Type": "application/json"],
            body: try JSONSerialization.data(withJSONObject: ["provider": provider, "behavior": behavior, "times": times]))
        XCTAssertEqual(response.status, 201, response.text)
    }

    private static func text(_ project: String, prompt: String = "Write a haiku about the sea.", provider: String? = nil) -> [String: Any] {
        var body: [String: Any] = ["project_id": project, "type": "text", "prompt": prompt, "parameters": ["max_output_tokens": 100]]
        if let provider { body["provider"] = provider }
        return body
    }

    func testSuccessChargesExactlyTheActualCostAndTheLedgerMovesByIt() throws {
        let project = try project(limit: "5")
        let before = try server.budget(of: project, token: token)
        let response = try server.generate(Self.text(project, provider: "openai"), token: token, wait: 30)
        XCTAssertEqual(response.status, 200, response.text)
        let body = try response.json()
        XCTAssertEqual(body["status"] as? String, "succeeded", "\(body)")
        let actual = try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String))
        let estimate = try Money(parsing: try XCTUnwrap(body["estimate_usd"] as? String))
        XCTAssertGreaterThan(actual, .zero, "a priced model is never charged $0")
        XCTAssertLessThanOrEqual(actual, estimate, "the worst-case estimate covers the actual cost")
        let lines = try XCTUnwrap(body["cost_lines"] as? [[String: Any]])
        let sum = try lines.reduce(Money.zero) { $0 + (try Money(parsing: try XCTUnwrap($1["subtotal"] as? String))) }
        XCTAssertEqual(sum, actual, "the cost is the sum of its lines")
        let after = try server.budget(of: project, token: token)
        XCTAssertEqual(after.spent - before.spent, actual, "the ledger moved by exactly the charge")
        XCTAssertEqual(after.reserved, .zero, "the reservation ended")
    }

    func testRateLimitAndServerErrorFallThroughToTheNextCandidate() throws {
        for behavior in ["rate_limited:0", "server_error"] {
            let project = try project(limit: "5")
            // More times than the adapter's own retries, so the failure reaches the engine.
            try script("openai", behavior, times: 5)
            let body = try server.generate(Self.text(project), token: token, wait: 30).json()
            XCTAssertEqual(body["status"] as? String, "succeeded", "\(behavior): \(body)")
            XCTAssertEqual(body["provider"] as? String, "anthropic", "\(behavior): the next candidate took it")
            let attempts = try XCTUnwrap(body["attempts"] as? [[String: Any]])
            XCTAssertEqual(attempts.map { $0["provider"] as? String }, ["openai", "anthropic"])
            XCTAssertEqual(attempts.map { $0["status"] as? String }, ["failed", "succeeded"])
            XCTAssertEqual(attempts.first?["retryable"] as? Bool, true)
            let actual = try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String))
            XCTAssertEqual(try server.budget(of: project, token: token).spent, actual, "charged once, for the attempt that worked")
            let id = try XCTUnwrap(UUID(uuidString: try XCTUnwrap(body["id"] as? String)))
            let events = try server.environment.pool.withServiceRole { transaction in
                try transaction.query("select type from public.generation_events where generation_id = \(id) order by id")
                    .map { try $0.decode("type", as: String.self) }
            }
            XCTAssertEqual(events, ["queued", "started", "attempt_failed", "succeeded"], "an event at every state change")
        }
    }

    func testBadRequestAndRefusalEndTheGenerationWithoutFallbackAndWithoutCharge() throws {
        // A refusal here is Runway's task FAILED `SAFETY.INPUT.TEXT` (a refusal inside a 200 chat
        // answer is billed, so that one is a finished, charged generation instead); the offline
        // provider, which would take the video, is not tried.
        for (behavior, request) in [("bad_request", Self.text(try project(limit: "5"))),
                                    ("refused", ["project_id": try project(limit: "50"), "type": "video", "prompt": "[fake:refused] waves",
                                                 "parameters": ["duration_seconds": 5]] as [String: Any])] {
            let project = try XCTUnwrap(request["project_id"] as? String)
            if behavior == "bad_request" { try script("openai", behavior, times: 5) }
            let body = try server.generate(request, token: token, wait: 30).json()
            XCTAssertEqual(body["status"] as? String, "failed", "\(behavior): \(body)")
            let attempts = try XCTUnwrap(body["attempts"] as? [[String: Any]])
            XCTAssertEqual(attempts.count, 1, "\(behavior): no other provider was tried")
            XCTAssertEqual(attempts.first?["retryable"] as? Bool, false)
            XCTAssertNil(body["actual_cost_usd"])
            let budget = try server.budget(of: project, token: token)
            XCTAssertEqual(budget.spent, .zero, "\(behavior): a failed generation is never charged")
            XCTAssertEqual(budget.reserved, .zero, "\(behavior): its reservation was released")
        }
    }

    func testAGenerationWhoseEveryCandidateFailsIsNeverCharged() throws {
        let project = try project(limit: "5")
        let body = try server.generate(Self.text(project, prompt: "[fake:server_error] hello", provider: "openai"), token: token, wait: 30).json()
        XCTAssertEqual(body["status"] as? String, "failed", "\(body)")
        XCTAssertEqual((body["error"] as? [String: Any])?["code"] as? String, "providers_exhausted")
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, .zero)
        XCTAssertEqual(budget.reserved, .zero)
    }

    func testTwoHundredConcurrentAdmissionsAgainstABudgetForTenAdmitExactlyTenAndNeverOverspend() throws {
        let probe = try project()
        let prompt = "[fake:slow:30] Write a haiku about the sea."
        let quote = try server.post("/v1/quotes", Self.text(probe, prompt: prompt, provider: "openai"), token: token).json()
        let estimate = try Money(parsing: try XCTUnwrap((quote["candidates"] as? [[String: Any]])?.first?["total"] as? String))
        let limit = (1...10).reduce(Money.zero) { total, _ in total + estimate }
        let project = try project(limit: limit.jsonString)
        let statuses = LockedList<Int>()
        let ids = LockedList<String>()
        let (server, token) = (self.server!, self.token)
        // A watcher reads the budget all along: spent + reserved never exceeds the limit.
        let overruns = LockedList<String>()
        let watching = LockedList<Bool>()
        let watcher = Thread {
            while watching.all.isEmpty {
                if let budget = try? server.budget(of: project, token: token), budget.spent + budget.reserved > limit {
                    overruns.append("\(budget.spent.jsonString) + \(budget.reserved.jsonString)")
                }
                usleep(20_000)
            }
        }
        watcher.start()
        // Slow at the provider, so the admitted ones still hold their reservations while the rest arrive.
        DispatchQueue.concurrentPerform(iterations: 200) { _ in
            let body = Self.text(project, prompt: prompt, provider: "openai")
            guard let response = try? server.generate(body, token: token) else { statuses.append(-1); return }
            statuses.append(response.status)
            if response.status == 202, let id = (try? response.json())?["id"] as? String { ids.append(id) }
            if response.status == 402 {
                XCTAssertEqual((try? response.json())?["code"] as? String, "budget_exceeded")
            }
        }
        XCTAssertEqual(statuses.all.count, 200)
        XCTAssertEqual(statuses.all.filter { $0 == 202 }.count, 10, "\(Dictionary(grouping: statuses.all, by: { $0 }).mapValues(\.count))")
        XCTAssertEqual(statuses.all.filter { $0 == 402 }.count, 190)
        var charged = Money.zero
        for id in ids.all {
            let done = try server.finished(id, token: token, timeout: 90)
            XCTAssertEqual(done["status"] as? String, "succeeded", "\(done)")
            charged += try Money(parsing: try XCTUnwrap(done["actual_cost_usd"] as? String))
        }
        watching.append(true)
        XCTAssertEqual(overruns.all, [], "spent + reserved stayed within the limit at every reading")
        // A generation reads `succeeded` a moment before its settlement commits (the order that
        // survives a crash): wait for the last settlement.
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.spent, charged, "exactly the admitted ones were charged")
        XCTAssertLessThanOrEqual(budget.spent, limit, "never overspent")
        XCTAssertEqual(budget.reserved, .zero)
    }

    func testMaxCostCapsEveryCandidate() throws {
        let project = try project(limit: "5")
        var body = Self.text(project, provider: "openai")
        body["max_cost_usd"] = "0.0000001"
        let response = try server.generate(body, token: token)
        XCTAssertEqual(response.status, 422, response.text)
        XCTAssertEqual(try response.json()["code"] as? String, "no_admissible_provider")
        XCTAssertTrue(response.text.contains("over_max_cost"), response.text)
        XCTAssertEqual(try server.budget(of: project, token: token).reserved, .zero, "nothing reserved")
    }

    func testBudgetRefusalNamesTheScopeItsLimitAndTheShortfall() throws {
        let project = try project(limit: "0.0000001")
        let response = try server.generate(Self.text(project, provider: "openai"), token: token)
        XCTAssertEqual(response.status, 402, response.text)
        let body = try response.json()
        XCTAssertEqual(body["code"] as? String, "budget_exceeded")
        let budget = try XCTUnwrap(body["budget"] as? [String: Any])
        XCTAssertEqual(budget["scope"] as? String, "project")
        XCTAssertEqual(budget["limit"] as? String, "0.0000001")
        let shortfall = try Money(parsing: try XCTUnwrap(budget["shortfall"] as? String))
        let required = try Money(parsing: try XCTUnwrap(budget["required"] as? String))
        XCTAssertEqual(shortfall, required - (try Money(parsing: "0.0000001")))
    }

    func testAnAsyncVideoJobStoresItsTaskPollsToCompletionAndIsChargedOnce() throws {
        let project = try project(limit: "50")
        let response = try server.generate(["project_id": project, "type": "video", "prompt": "waves", "provider": "runway",
                                            "parameters": ["duration_seconds": 5]], token: token)
        XCTAssertEqual(response.status, 202, response.text)
        let id = try XCTUnwrap(try response.json()["id"] as? String)
        let done = try server.finished(id, token: token, timeout: 60)
        XCTAssertEqual(done["status"] as? String, "succeeded", "\(done)")
        let output = try XCTUnwrap((done["outputs"] as? [[String: Any]])?.first)
        XCTAssertEqual(output["content_type"] as? String, "video/mp4")
        XCTAssertEqual(try server.get(try XCTUnwrap(output["url"] as? String), token: token).status, 200)
        let actual = try Money(parsing: try XCTUnwrap(done["actual_cost_usd"] as? String))
        XCTAssertEqual(try server.settledBudget(of: project, token: token).spent, actual)
        let counters = try HTTPTestConnection(port: fakePort).request("GET", "/_fake/counters").text
        XCTAssertTrue(counters.contains("image_to_video") || counters.contains("text_to_video"), counters)
    }

    func testCancelOfARunningVideoJobReleasesTheReservationChargesNothingAndCancelsAtTheProvider() throws {
        // Once while the task waits for its next poll, once while the submit itself is still in
        // flight (the task is then cancelled as soon as the provider names it).
        for (slowSubmit, deletes) in [(false, 1), (true, 2)] {
            let project = try project(limit: "50")
            if slowSubmit { try script("runway", "slow:2") }
            let response = try server.generate(["project_id": project, "type": "video", "prompt": "waves", "provider": "runway",
                                                "parameters": ["duration_seconds": 5]], token: token)
            let id = try XCTUnwrap(try response.json()["id"] as? String)
            usleep(500_000)
            XCTAssertGreaterThan(try server.budget(of: project, token: token).reserved, .zero, "held while it runs")
            let cancel = try server.post("/v1/generations/\(id)/cancel", [:], token: token)
            XCTAssertEqual(cancel.status, 200, cancel.text)
            XCTAssertEqual(try cancel.json()["status"] as? String, "canceled")
            // Released at once while the task waits for a poll; while the submit itself is in
            // flight, once its answer is in (it could have been a charge).
            let budget = try server.settledBudget(of: project, token: token)
            XCTAssertEqual(budget.reserved, .zero, "released on cancel")
            XCTAssertEqual(budget.spent, .zero, "nothing charged")
            var routes: [String: Any] = [:]
            let deadline = Date().addingTimeInterval(6)
            repeat {
                usleep(100_000)
                let counters = try HTTPTestConnection(port: fakePort).request("GET", "/_fake/counters").json()
                routes = (((counters["providers"] as? [String: Any])?["runway"] as? [String: Any])?["routes"] as? [String: Any]) ?? [:]
            } while routes["DELETE /v1/tasks/{id}"] as? Int != deletes && Date() < deadline
            XCTAssertEqual(routes["DELETE /v1/tasks/{id}"] as? Int, deletes, "cancelled at the provider too: \(routes)")
            XCTAssertEqual(try server.finished(id, token: token)["status"] as? String, "canceled", "it stays canceled whatever the provider does")
            XCTAssertEqual(try server.budget(of: project, token: token).spent, .zero)
        }
    }

    func testPreferWaitAnswers202WithTheCurrentStateWhenTheGenerationOutlastsTheWait() throws {
        let project = try project(limit: "5")
        let started = Date()
        let response = try server.generate(Self.text(project, prompt: "[fake:slow:4] a slow haiku", provider: "openai"), token: token, wait: 1)
        let waited = Date().timeIntervalSince(started)
        XCTAssertEqual(response.status, 202, response.text)
        XCTAssertEqual(response.header("preference-applied"), "wait=1")
        XCTAssertEqual(try response.json()["status"] as? String, "running")
        XCTAssertGreaterThanOrEqual(waited, 0.9, "it waited")
        XCTAssertLessThan(waited, 3, "and no longer than asked")
        let id = try XCTUnwrap(try response.json()["id"] as? String)
        XCTAssertEqual(try server.finished(id, token: token)["status"] as? String, "succeeded")
    }
}

@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// Generations routed by the route planner against the `fake-providers` executable: the user's
/// provider configurations (enabled, priority, monthly budget), budget scopes reserved and charged
/// on the provider that served, and the circuit breaker (opened by consecutive retryable
/// failures, skipping the provider uncalled, one trial after the cooldown).
final class GenerationRoutingTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var fakePort: Int { fake?.port ?? 0 }
    private var server: TestServer!
    private var token = ""
    private var userID = UUID()
    /// Short, so the cooldown can pass within a test.
    private static let cooldownSeconds = 2.0

    override func setUpWithError() throws {
        fake = try FakeProvidersProcess()
        server = try TestServer(environment: (fake?.baseURLs ?? [:]).merging(
            ["PROVIDER_CIRCUIT_FAILURES": "2", "PROVIDER_CIRCUIT_COOLDOWN_SECONDS": String(Int(Self.cooldownSeconds))]) { $1 })
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("routing@example.com")
        token = session.accessToken
        userID = try XCTUnwrap(UUID(uuidString: session.userID))
        for provider in [ProviderID.openai, .anthropic] {
            let stored = try server.post("/v1/api-keys", ["provider": provider.rawValue, "label": "main", "key": ApiKeyTests.sampleKey(provider)],
                                         token: token)
            XCTAssertEqual(stored.status, 201, stored.text)
        }
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    private func project(limit: String = "5") throws -> String {
        try XCTUnwrap(try server.createProject(["name": "Routing", "budget_period": "total", "budget_limit": limit], token: token)["id"] as? String)
    }

    private func text(_ project: String, provider: String? = nil) -> [String: Any] {
        var body: [String: Any] = ["project_id": project, "type": "text", "prompt": "Write a haiku about the sea.",
                                   "parameters": ["max_output_tokens": 100]]
        if let provider { body["provider"] = provider }
        return body
    }

    private func configure(_ provider: String, _ body: [String: Any]) throws {
        let stored = try server.send("PUT", "/v1/provider-configs/\(provider)", body, token: token, headers: ["If-Match": "\"v0\""])
        XCTAssertEqual(stored.status, 200, stored.text)
    }

    private func fakeControl(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> HTTPTestConnection.Response {
        try HTTPTestConnection(port: fakePort).request(method, path, headers: ["Content-Type": "application/json"],
                                                       body: try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data())
    }

    /// Requests the fake received for `provider` since the last reset.
    private func calls(_ provider: String) throws -> Int {
        let counters = try fakeControl("GET", "/_fake/counters").json()
        return ((counters["providers"] as? [String: Any])?[provider] as? [String: Any])?["total"] as? Int ?? 0
    }

    private func quoteOrder(_ project: String) throws -> [String] {
        let quote = try server.send("POST", "/v1/quotes", text(project), token: token)
        XCTAssertEqual(quote.status, 200, quote.text)
        let candidates = try XCTUnwrap(try quote.json()["candidates"] as? [[String: Any]])
        return candidates.filter { $0["admitted"] as? Bool == true }.compactMap { $0["provider"] as? String }
    }

    private func served(_ project: String) throws -> [String: Any] {
        let response = try server.generate(text(project), token: token, wait: 30)
        XCTAssertEqual(response.status, 200, response.text)
        let body = try response.json()
        XCTAssertEqual(body["status"] as? String, "succeeded", "\(body)")
        return body
    }

    func testAProviderDisabledInItsConfigurationIsSkippedByQuotesAndGenerations() throws {
        let project = try project()
        XCTAssertEqual(try quoteOrder(project).first, "openai", "openai comes first by default")
        try configure("openai", ["enabled": false])
        let quote = try XCTUnwrap(try server.send("POST", "/v1/quotes", text(project), token: token).json()["candidates"] as? [[String: Any]])
        let openai = try XCTUnwrap(quote.first { $0["provider"] as? String == "openai" })
        XCTAssertEqual(openai["reasons"] as? [String], ["disabled"])
        XCTAssertEqual(try quoteOrder(project).first, "anthropic")
        _ = try fakeControl("POST", "/_fake/reset")
        XCTAssertEqual(try served(project)["provider"] as? String, "anthropic")
        XCTAssertEqual(try calls("openai"), 0, "a disabled provider is never called")
    }

    func testAPriorityChangeChangesWhichProviderServes() throws {
        let project = try project()
        XCTAssertEqual(try served(project)["provider"] as? String, "openai")
        try configure("anthropic", ["priority": 1])
        XCTAssertEqual(try quoteOrder(project).first, "anthropic", "the quote shows the new order")
        XCTAssertEqual(try served(project)["provider"] as? String, "anthropic", "and the generation follows it")
    }

    func testAProviderMonthlyBudgetRefusesWith402NamingItsScopeWhileTheProjectHasRoom() throws {
        let project = try project(limit: "5")
        try configure("openai", ["monthly_budget": "0.0000001"])
        let response = try server.generate(text(project, provider: "openai"), token: token, wait: 30)
        XCTAssertEqual(response.status, 402, response.text)
        let body = try response.json()
        XCTAssertEqual(body["code"] as? String, "budget_exceeded")
        let budget = try XCTUnwrap(body["budget"] as? [String: Any])
        XCTAssertEqual(budget["scope"] as? String, "provider:openai")
        XCTAssertEqual(budget["limit"] as? String, "0.0000001")
        XCTAssertEqual(try server.budget(of: project, token: token).reserved, .zero, "nothing held on any scope")
        // Unpinned, the provider over its budget is passed over for the next one.
        XCTAssertEqual(try served(project)["provider"] as? String, "anthropic")
    }

    func testARateTokenIsTakenPerAttemptAndAnEmptyBucketPassesTheProviderOver() throws {
        let project = try project()
        try configure("openai", ["requests_per_minute": 1])
        XCTAssertEqual(try served(project)["provider"] as? String, "openai", "the minute's one token")
        let quote = try XCTUnwrap(try server.send("POST", "/v1/quotes", text(project), token: token).json()["candidates"] as? [[String: Any]])
        XCTAssertEqual(quote.first { $0["provider"] as? String == "openai" }?["reasons"] as? [String], ["rate_limited"])
        _ = try fakeControl("POST", "/_fake/reset")
        XCTAssertEqual(try served(project)["provider"] as? String, "anthropic", "no token left this minute")
        XCTAssertEqual(try calls("openai"), 0)
    }

    func testAFallbackChargesTheServingProvidersScope() throws {
        let project = try project()
        // Monthly budgets give both providers a scope; openai's is reserved on, anthropic serves.
        try configure("openai", ["monthly_budget": "10"])
        try configure("anthropic", ["monthly_budget": "10"])
        _ = try fakeControl("POST", "/_fake/script", ["provider": "openai", "behavior": "server_error", "times": 5])
        let body = try served(project)
        XCTAssertEqual(body["provider"] as? String, "anthropic")
        let actual = try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String))
        func usage(_ provider: String) throws -> (spent: Money, reserved: Money) {
            let json = try server.send("GET", "/v1/provider-configs/\(provider)", token: token).json()
            let usage = try XCTUnwrap(json["usage"] as? [String: Any])
            return (try Money(parsing: try XCTUnwrap(usage["spent"] as? String)), try Money(parsing: try XCTUnwrap(usage["reserved"] as? String)))
        }
        XCTAssertEqual(try usage("anthropic").spent, actual, "the provider that served is charged")
        XCTAssertEqual(try usage("openai").spent, .zero, "the one reserved on, which failed, is not")
        XCTAssertEqual(try usage("openai").reserved, .zero, "and its reservation is released")
        XCTAssertEqual(try usage("anthropic").reserved, .zero)
        XCTAssertLessThanOrEqual(try usage("anthropic").spent + usage("anthropic").reserved, try Money(parsing: "10"))
        XCTAssertEqual(try server.budget(of: project, token: token).spent, actual)
    }

    func testConsecutiveRetryableFailuresOpenTheCircuitThenOneTrialAfterTheCooldown() throws {
        let project = try project(limit: "50")
        _ = try fakeControl("POST", "/_fake/script", ["provider": "openai", "behavior": "server_error", "times": 1000])
        // Two generations, each failing at openai (retryable) and served by anthropic: the streak reaches 2.
        for _ in 0..<2 {
            XCTAssertEqual(try served(project)["provider"] as? String, "anthropic")
        }
        let called = try calls("openai")
        XCTAssertGreaterThan(called, 0)
        let open = try served(project)
        XCTAssertEqual(open["provider"] as? String, "anthropic")
        XCTAssertEqual(try calls("openai"), called, "an open circuit skips the provider without calling it")
        let attempts = try XCTUnwrap(open["attempts"] as? [[String: Any]])
        XCTAssertEqual(attempts.compactMap { $0["provider"] as? String }, ["anthropic"])
        let quote = try XCTUnwrap(try server.send("POST", "/v1/quotes", text(project), token: token).json()["candidates"] as? [[String: Any]])
        XCTAssertEqual(quote.first { $0["provider"] as? String == "openai" }?["reasons"] as? [String], ["circuit_open"])

        // After the cooldown the provider is well again; exactly one trial is let through, and it closes the circuit.
        _ = try fakeControl("POST", "/_fake/reset")
        Thread.sleep(forTimeInterval: Self.cooldownSeconds + 0.5)
        XCTAssertEqual(try served(project)["provider"] as? String, "openai", "the trial went to openai")
        XCTAssertEqual(try calls("openai"), 1)
        XCTAssertEqual(try served(project)["provider"] as? String, "openai", "the circuit closed")
    }

    func testAnAttemptSkippedAtRunTimeIsAnEventNotACall() async throws {
        // Admitted while openai is a candidate; the circuit opens before the step runs.
        let project = try project()
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .text, prompt: "hello", maxOutputTokens: 100),
            settings: GenerationSettings(maxOutputTokens: 100), as: try identity())
        XCTAssertEqual(record.candidates.first?.provider, .openai)
        let claims = GenerationExecutor.claims(for: userID)
        for _ in 0..<2 {
            _ = try server.environment.router.record(.failure(code: "provider_down", retryable: true), provider: .openai,
                                                     claimsJSON: claims, at: Date())
        }
        _ = try fakeControl("POST", "/_fake/reset")
        let step = try await server.environment.generations.executor.runner.step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(step, .finished(.succeeded))
        XCTAssertEqual(try calls("openai"), 0)
        let events = try server.environment.pool.withServiceRole { transaction in
            try transaction.query("select type, payload->>'reason' as reason from public.generation_events where generation_id = \(record.id) order by id")
                .map { "\(try $0.decode("type", as: String.self)) \(try $0.decodeIfPresent("reason", as: String.self) ?? "")" }
        }
        XCTAssertTrue(events.contains("skipped circuit_open"), "\(events)")
    }

    func testAFallbackWhoseProviderBudgetHasNoRoomIsSkippedUncalledAndTheNextServes() async throws {
        let project = try project()
        try configure("openai", ["monthly_budget": "10"])
        try configure("anthropic", ["monthly_budget": "10"])
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .text, prompt: "hello", maxOutputTokens: 100),
            settings: GenerationSettings(maxOutputTokens: 100), as: try identity())
        XCTAssertEqual(record.candidates.map(\.provider), [.openai, .anthropic, .local], "\(record.candidates)")
        // Between admission and the fallback, anthropic's budget is spent elsewhere: no room left.
        let lowered = try server.send("PUT", "/v1/provider-configs/anthropic", ["monthly_budget": "0"], token: token, headers: ["If-Match": "*"])
        XCTAssertEqual(lowered.status, 200, lowered.text)
        _ = try fakeControl("POST", "/_fake/reset")
        _ = try fakeControl("POST", "/_fake/script", ["provider": "openai", "behavior": "server_error", "times": 5])
        let claims = GenerationExecutor.claims(for: userID)
        let step = try await server.environment.generations.executor.runner.step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(step, .finished(.succeeded))
        XCTAssertEqual(try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: token).json()["provider"] as? String, "local")
        XCTAssertEqual(try calls("anthropic"), 0, "a fallback its budget cannot hold is never called")
        let events = try server.environment.pool.withServiceRole { transaction in
            try transaction.query("select type, payload->>'reason' as reason from public.generation_events where generation_id = \(record.id) order by id")
                .map { "\(try $0.decode("type", as: String.self)) \(try $0.decodeIfPresent("reason", as: String.self) ?? "")" }
        }
        XCTAssertTrue(events.contains("skipped budget_exceeded"), "\(events)")
        for provider in ["openai", "anthropic"] {
            let usage = try XCTUnwrap(try server.send("GET", "/v1/provider-configs/\(provider)", token: token).json()["usage"] as? [String: Any])
            XCTAssertEqual(try Money(parsing: try XCTUnwrap(usage["spent"] as? String)), .zero, provider)
            XCTAssertEqual(try Money(parsing: try XCTUnwrap(usage["reserved"] as? String)), .zero, "\(provider): released")
        }
        XCTAssertEqual(try server.budget(of: project, token: token).spent, .zero)
        XCTAssertEqual(try server.budget(of: project, token: token).reserved, .zero)
    }

    func testAFailingProviderDueForItsTrialIsReTestedWithTheFreeKeyCheckAndItsCircuitCloses() throws {
        let claims = GenerationExecutor.claims(for: userID)
        for _ in 0..<2 {
            _ = try server.environment.router.record(.failure(code: "provider_down", retryable: true), provider: .openai,
                                                     claimsJSON: claims, at: Date())
        }
        let failing = PostgresFailingProviders(pool: server.environment.pool)
        XCTAssertTrue(try failing.due(limit: 4).isEmpty, "not due while the cooldown runs")
        Thread.sleep(forTimeInterval: Self.cooldownSeconds + 0.2)
        let due = try failing.due(limit: 4)
        XCTAssertEqual(due.map(\.provider), [.openai])
        _ = try fakeControl("POST", "/_fake/reset")
        ProviderRetest.check(.openai, userID: userID, vault: server.environment.vault, checks: server.environment.keyChecks,
                             router: server.environment.router)
        XCTAssertGreaterThan(try calls("openai"), 0, "the key check reached the provider")
        let health = try XCTUnwrap(try server.environment.router.health(for: try identity())[.openai])
        XCTAssertNil(health.reopenAt, "the circuit closed: \(health)")
        XCTAssertEqual(health.consecutiveFailures, 0)
        XCTAssertTrue(try failing.due(limit: 4).isEmpty)
    }

    /// The engine acts as the generation's owner through the owner's claims alone.
    private func identity() throws -> AuthenticatedIdentity {
        AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: GenerationExecutor.claims(for: userID))
    }
}

/// Every candidate skipped only for a while (an empty rate bucket, an open circuit) is a refusal a
/// retry can get past: 429 with `Retry-After`, on each surface, never kept as an Idempotency-Key's answer.
extension GenerationRoutingTests {
    private func limitOpenAI(_ requestsPerMinute: Int?, version: Int) throws {
        let stored = try server.send("PUT", "/v1/provider-configs/openai", ["requests_per_minute": requestsPerMinute ?? NSNull()], token: token,
                                     headers: ["If-Match": "\"v\(version)\""])
        XCTAssertEqual(stored.status, 200, stored.text)
    }

    private func assertPassingRefusal(_ response: HTTPTestConnection.Response, code: String?, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(response.status, 429, response.text, file: file, line: line)
        let wait = Int(response.header("retry-after") ?? "")
        XCTAssertTrue(wait.map { (1...60).contains($0) } == true, "Retry-After \(String(describing: response.header("retry-after")))", file: file, line: line)
        if let code { XCTAssertEqual(try response.json()["code"] as? String, code, file: file, line: line) }
    }

    func testARateLimitedOnlyCandidateIs429WithRetryAfterAndTheKeyRunsAgain() throws {
        let project = try project()
        try limitOpenAI(1, version: 0)
        XCTAssertEqual(try server.generate(text(project, provider: "openai"), token: token, wait: 30).status, 200, "the minute's one token")
        try assertPassingRefusal(try server.generate(text(project, provider: "openai"), token: token), code: "providers_unavailable")
        let keyed = try server.generate(text(project, provider: "openai"), token: token, headers: ["Idempotency-Key": "after-the-wait"])
        try assertPassingRefusal(keyed, code: "providers_unavailable")
        let batch = try server.post("/v1/generations/batch", ["project_id": project, "items": [["type": "text", "prompt": "Hi", "provider": "openai"]]],
                                    token: token)
        try assertPassingRefusal(batch, code: "providers_unavailable")
        let chat = try server.connect().request("POST", "/v1/chat/completions", headers: [
            "Authorization": "Bearer \(token)", "Content-Type": "application/json", "X-Project-Id": project],
            body: try JSONSerialization.data(withJSONObject: ["model": "openai/gpt-4o-mini", "messages": [["role": "user", "content": "Hi"]]]))
        try assertPassingRefusal(chat, code: nil)
        XCTAssertEqual((try chat.json()["error"] as? [String: Any])?["code"] as? String, "providers_unavailable")

        // The limit lifted, the same key's retry runs: the 429 was not kept as its answer.
        try limitOpenAI(nil, version: 1)
        let retried = try server.generate(text(project, provider: "openai"), token: token, headers: ["Idempotency-Key": "after-the-wait"])
        XCTAssertEqual(retried.status, 202, retried.text)
        XCTAssertNil(retried.header("idempotent-replayed"))
    }
}

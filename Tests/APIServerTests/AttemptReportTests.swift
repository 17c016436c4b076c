@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// An attempt's report is written by the call that records the attempt (migration 135): the
/// finish of a success and the attempt row of a failure that falls through each put the outcome
/// on the provider's health, with the transitions the router's stores apply (the rate-limit half
/// runs the stores' own upsert, `ProviderRoutingStoreTests`). A success's report travels with the
/// finish but is not waited for (`userScopeTransactions(claimsJSON:_:unanswered:)`): it commits just
/// after the answer, so its effects are read here until they show, within seconds.
final class AttemptReportTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var fakePort: Int { fake?.port ?? 0 }
    private var server: TestServer!
    private var token = ""

    override func setUpWithError() throws {
        let fake = try FakeProvidersProcess()
        self.fake = fake
        server = try TestServer(environment: fake.baseURLs)
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("attempt-reports@example.com").accessToken
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

    private func health(_ provider: String) throws -> [String: Any] {
        let providers = try XCTUnwrap(try server.get("/v1/providers", token: token).json()["data"] as? [[String: Any]])
        return try XCTUnwrap(providers.first { $0["id"] as? String == provider }?["health"] as? [String: Any])
    }

    /// The provider's health once `shows` holds (a success's report commits just after the answer),
    /// or as it is after five seconds.
    private func health(_ provider: String, once shows: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(5)
        var current = try health(provider)
        while !shows(current), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
            current = try health(provider)
        }
        return current
    }

    func testASuccessAndAFailureThatFallsThroughAreOnTheProvidersHealth() throws {
        let project = try XCTUnwrap(try server.createProject(["name": "Reports", "budget_period": "total", "budget_limit": "5"],
                                                             token: token)["id"] as? String)
        let body: [String: Any] = ["project_id": project, "type": "text", "prompt": "Write a haiku about the sea.",
                                   "parameters": ["max_output_tokens": 100]]
        let served = try server.generate(body.merging(["provider": "openai"]) { $1 }, token: token, wait: 30)
        XCTAssertEqual(try served.json()["status"] as? String, "succeeded", served.text)
        let openai = try health("openai") { $0["last_success_at"] as? String != nil }
        XCTAssertEqual(openai["status"] as? String, "healthy")
        XCTAssertEqual(openai["consecutive_failures"] as? Int, 0)
        XCTAssertNotNil(openai["last_success_at"] as? String, "the success is on its health: \(openai)")
        XCTAssertGreaterThan(try XCTUnwrap(openai["latency_ms"] as? Double, "\(openai)"), 0)

        // More failures than the adapter's own retries, so the failure reaches the engine, which
        // falls through to the next candidate.
        let scripted = try HTTPTestConnection(port: fakePort).request(
            "POST", "/_fake/script", headers: ["Content-Type": "application/json"],
            body: try JSONSerialization.data(withJSONObject: ["provider": "openai", "behavior": "server_error", "times": 5]))
        XCTAssertEqual(scripted.status, 201, scripted.text)
        let fellThrough = try server.generate(body, token: token, wait: 30).json()
        XCTAssertEqual(fellThrough["provider"] as? String, "anthropic", "\(fellThrough)")
        let failed = try health("openai")
        XCTAssertEqual(failed["status"] as? String, "degraded", "\(failed)")
        XCTAssertEqual(failed["consecutive_failures"] as? Int, 1)
        XCTAssertNotNil(failed["last_error_code"] as? String)
        let anthropic = try health("anthropic") { $0["latency_ms"] as? Double != nil }
        XCTAssertEqual(anthropic["status"] as? String, "healthy")
        XCTAssertNotNil(anthropic["latency_ms"] as? Double, "\(anthropic)")
    }
}

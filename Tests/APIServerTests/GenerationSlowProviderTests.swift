@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// A generation waiting for a slow provider holds no provider thread (issue 14: an in-flight
/// provider call is not a thread). With two provider threads, six generations whose provider
/// answers after 4 s are all at the provider at once, and a seventh, fast one still finishes at
/// once instead of queueing behind them.
final class GenerationSlowProviderTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var server: TestServer!
    private var token = ""
    private static let providerThreads = 2
    private static let slowGenerations = 6
    private static let slowSeconds = 4

    override func setUpWithError() throws {
        let fake = try FakeProvidersProcess()
        self.fake = fake
        server = try TestServer(environment: ["OPENAI_BASE_URL": fake.origin + "/openai/v1",
                                              "PROVIDER_THREADS": String(Self.providerThreads), "DB_POOL_TIMEOUT_MS": "10000"])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("slow-provider@example.com").accessToken
        let stored = try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)], token: token)
        XCTAssertEqual(stored.status, 201, stored.text)
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    private func chatCompletions() throws -> Int {
        let counters = try HTTPTestConnection(port: try XCTUnwrap(fake).port).request("GET", "/_fake/counters").json()
        let openai = (counters["providers"] as? [String: Any])?["openai"] as? [String: Any]
        return (openai?["routes"] as? [String: Any])?["POST /v1/chat/completions"] as? Int ?? 0
    }

    func testSlowProviderCallsHoldNoProviderThreadSoAFastGenerationFinishesAtOnce() throws {
        XCTAssertEqual(server.environment.config.providerThreads, Self.providerThreads)
        let project = try XCTUnwrap(try server.createProject(["name": "Slow", "budget_period": "total", "budget_limit": "5"],
                                                             token: token)["id"] as? String)
        func text(_ prompt: String) -> [String: Any] {
            ["project_id": project, "type": "text", "prompt": prompt, "provider": "openai", "parameters": ["max_output_tokens": 100]]
        }
        var slow: [String] = []
        for index in 0..<Self.slowGenerations {
            let response = try server.generate(text("Slow \(index) [fake:slow:\(Self.slowSeconds)]"), token: token)
            XCTAssertEqual(response.status, 202, response.text)
            slow.append(try XCTUnwrap(try response.json()["id"] as? String))
        }
        // All six reach the provider together: with a thread per call, two would.
        let deadline = Date().addingTimeInterval(Double(Self.slowSeconds) - 1)
        while try chatCompletions() < Self.slowGenerations && Date() < deadline { usleep(20_000) }
        XCTAssertEqual(try chatCompletions(), Self.slowGenerations, "every slow generation is at the provider at once")

        let started = Date()
        let fast = try server.generate(text("Quick"), token: token, wait: 30)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(fast.status, 200, fast.text)
        XCTAssertEqual(try fast.json()["status"] as? String, "succeeded")
        XCTAssertLessThan(elapsed, 2, "the fast generation did not wait for a provider thread held by a slow call")
        print(String(format: "slow-provider: %d generations at a %d s provider on %d provider threads; a fast one took %.3f s",
                     Self.slowGenerations, Self.slowSeconds, Self.providerThreads, elapsed))

        for id in slow {
            XCTAssertEqual(try server.finished(id, token: token)["status"] as? String, "succeeded", "slow generation \(id)")
        }
    }
}

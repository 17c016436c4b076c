@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// The database round trips a text generation with `Prefer: wait` costs, as the server counts
/// them (`DatabaseRoundTrips`): about 52 before admission and the attempt's end became one call
/// each and every transaction one pipeline; 13 after (BENCHMARKS.md, "Generations"). Since then
/// admission is two (one read of the session, project, pricing id and routing state; one call that
/// admits and clears the first attempt, migration 130) and the attempt's end one (finish, which also
/// writes the attempt's health and rate-limit report, migration 135). The bound is exact: the fewest
/// of three runs, so a background loop of this test process (worker claims, lease wake-ups) in one
/// run does not count, and one more round trip on the path fails it.
final class GenerationRoundTripTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var server: TestServer!
    private var token = ""

    override func setUpWithError() throws {
        let fake = try FakeProvidersProcess()
        self.fake = fake
        server = try TestServer(environment: ["OPENAI_BASE_URL": fake.baseURLs["OPENAI_BASE_URL"] ?? ""])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("round-trips@example.com").accessToken
        let stored = try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)], token: token)
        XCTAssertEqual(stored.status, 201, stored.text)
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    func testATextGenerationWithPreferWaitTakesAtMostThreeRoundTrips() throws {
        let project = try XCTUnwrap(try server.createProject(["name": "Trips"], token: token)["id"] as? String)
        let body: [String: Any] = ["project_id": project, "type": "text", "prompt": "Write a haiku about the sea.", "provider": "openai",
                                   "parameters": ["max_output_tokens": 100]]
        // A first one warms what is read once per process (the pricing version's document).
        XCTAssertEqual(try server.generate(body, token: token, wait: 30).status, 200)
        var trips: [Int] = []
        for _ in 0..<3 {
            let before = DatabaseRoundTrips.count
            let response = try server.generate(body, token: token, wait: 30)
            trips.append(DatabaseRoundTrips.count - before)
            XCTAssertEqual(response.status, 200, response.text)
            XCTAssertEqual(try response.json()["status"] as? String, "succeeded")
        }
        // The fewest of three, so a background loop's round trip in one of them does not count.
        let fewest = try XCTUnwrap(trips.min())
        XCTAssertLessThanOrEqual(fewest, 3, "round trips per generation: \(trips)")
        XCTAssertGreaterThanOrEqual(fewest, 2, "admission and the attempt's end at least, counted: \(trips)")
    }

    /// The same generation through the OpenAI-compatible surface, on the default project (what an
    /// OpenAI client sends): as above; the answer is built from the finished generation the runner
    /// returned, not read again.
    func testAChatCompletionTakesAtMostThreeRoundTrips() throws {
        let client = ChatWireClient(port: server.port, token: token)
        // A first one warms the pricing version and makes (and remembers) the default project.
        XCTAssertEqual(try client.complete(ChatWireClient.body()).status, 200)
        var trips: [Int] = []
        for _ in 0..<3 {
            let before = DatabaseRoundTrips.count
            let answer = try client.complete(ChatWireClient.body())
            trips.append(DatabaseRoundTrips.count - before)
            XCTAssertEqual(answer.status, 200, answer.text)
        }
        let fewest = try XCTUnwrap(trips.min())
        XCTAssertLessThanOrEqual(fewest, 3, "round trips per chat completion: \(trips)")
        XCTAssertGreaterThanOrEqual(fewest, 2, "admission and the attempt's end at least, counted: \(trips)")
    }
}

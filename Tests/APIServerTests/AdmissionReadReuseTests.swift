@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// An admission may reuse an earlier admission's routing reads of the same project and token for
/// `ADMISSION_READ_REUSE_MS` (`RecentQuoteReads`), skipping that round trip: a write through the API
/// forgets them at once, a write behind the server's back shows once they are too old, and what an
/// admission would refuse on them is decided again on fresh reads.
final class AdmissionReadReuseTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var server: TestServer!
    private var token = ""
    private var userID = ""
    private var project = ""
    private static let reuseMilliseconds = 3_000

    override func setUpWithError() throws {
        let fake = try FakeProvidersProcess()
        self.fake = fake
        server = try TestServer(environment: fake.baseURLs.merging(["ADMISSION_READ_REUSE_MS": String(Self.reuseMilliseconds)]) { $1 })
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("reuse@example.com")
        token = session.accessToken
        userID = session.userID
        for provider in [ProviderID.openai, .anthropic] {
            let stored = try server.post("/v1/api-keys", ["provider": provider.rawValue, "label": "main", "key": ApiKeyTests.sampleKey(provider)],
                                         token: token)
            XCTAssertEqual(stored.status, 201, stored.text)
        }
        project = try XCTUnwrap(try server.createProject(["name": "Reuse", "budget_period": "total", "budget_limit": "5"], token: token)["id"] as? String)
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    private var kept: Int { server.environment.recentQuoteReads.count }

    private func generate() throws -> HTTPTestConnection.Response {
        try server.generate(["project_id": project, "type": "text", "prompt": "Write a haiku about the sea.",
                             "parameters": ["max_output_tokens": 100]], token: token, wait: 30)
    }

    private func sql(_ statement: SQL) throws {
        _ = try PostgresConnection(url: server.environment.config.migrationDatabaseURL).query(statement)
    }

    private func code(_ response: HTTPTestConnection.Response) -> String? {
        (try? response.json())?["code"] as? String
    }

    func testAnAdmissionKeepsItsReadAndTheNextReusesItUntilItIsTooOld() throws {
        XCTAssertEqual(kept, 0)
        XCTAssertEqual(try generate().status, 200)
        XCTAssertEqual(kept, 1, "the admission's read is kept")
        // Ended behind the server's back: the kept read still shows the session live.
        try sql("delete from auth.sessions where user_id = \(userID)::uuid")
        let reused = try generate()
        XCTAssertEqual(reused.status, 200, "admitted on the kept read: \(reused.text)")
        Thread.sleep(forTimeInterval: Double(Self.reuseMilliseconds) / 1000 + 0.3)
        let fresh = try generate()
        XCTAssertEqual(fresh.status, 403, fresh.text)
        XCTAssertEqual(code(fresh), "session_not_found", "read afresh once the kept read is too old")
    }

    func testSigningOutThroughTheAPIForgetsTheKeptReadsAtOnce() throws {
        XCTAssertEqual(try generate().status, 200)
        XCTAssertEqual(kept, 1)
        XCTAssertEqual(try server.post("/auth/v1/logout", [:], token: token).status, 204)
        XCTAssertEqual(kept, 0, "a write through the API forgets them")
        let refused = try generate()
        XCTAssertEqual(refused.status, 403, refused.text)
        XCTAssertEqual(code(refused), "session_not_found")
    }

    func testGenerationsAndReadsKeepTheKeptReads() throws {
        XCTAssertEqual(try generate().status, 200)
        XCTAssertEqual(try generate().status, 200)
        XCTAssertEqual(try server.send("GET", "/v1/projects/\(project)", token: token).status, 200)
        XCTAssertEqual(kept, 1, "one read kept for the project and token, not forgotten by generations or reads")
    }

    /// The kept read says openai has room in its monthly budget; behind the server's back it has
    /// none. The reservation on openai is refused, and the admission is decided again on fresh reads,
    /// which pass openai over for anthropic as a fresh admission would (not a 402).
    func testARefusalOnAKeptReadIsDecidedAgainOnFreshReads() throws {
        let stored = try server.send("PUT", "/v1/provider-configs/openai", ["monthly_budget": "10"], token: token, headers: ["If-Match": "\"v0\""])
        XCTAssertEqual(stored.status, 200, stored.text)
        let first = try generate()
        XCTAssertEqual(first.status, 200, first.text)
        XCTAssertEqual(try first.json()["provider"] as? String, "openai")
        XCTAssertEqual(kept, 1)
        try sql("update public.provider_configs set monthly_budget = 0.0000001 where user_id = \(userID)::uuid and provider = 'openai'")
        let second = try generate()
        XCTAssertEqual(second.status, 200, second.text)
        XCTAssertEqual(try second.json()["provider"] as? String, "anthropic", "openai, over its budget, is passed over")
    }

    func testReuseOffKeepsNothing() throws {
        server.stop()
        server = try TestServer(environment: (fake?.baseURLs ?? [:]).merging(["ADMISSION_READ_REUSE_MS": "0"]) { $1 })
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("no-reuse@example.com")
        token = session.accessToken
        let stored = try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)], token: token)
        XCTAssertEqual(stored.status, 201, stored.text)
        project = try XCTUnwrap(try server.createProject(["name": "No reuse"], token: token)["id"] as? String)
        XCTAssertEqual(try generate().status, 200)
        XCTAssertEqual(kept, 0)
        XCTAssertFalse(server.environment.recentQuoteReads.isEnabled)
    }
}

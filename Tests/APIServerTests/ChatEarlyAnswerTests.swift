@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// `CHAT_ANSWER_BEFORE_SETTLEMENT`: a chat completion is answered once its cost is known, while
/// its settlement is written; the same user's reads wait for that settlement, its admissions and
/// other users do not. The settlement is held back by a lock on the attempts table (the finish is
/// the first write there; admission never writes it), taken as the migration owner.
final class ChatEarlyAnswerTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var server: TestServer!
    private var token = ""
    private var client: ChatWireClient!
    private var project = ""

    private func start(answerBeforeSettlement: String) throws {
        let fake = try FakeProvidersProcess(arguments: [])
        self.fake = fake
        server = try TestServer(environment: ["OPENAI_BASE_URL": "http://127.0.0.1:\(fake.port)/openai/v1",
                                              "CHAT_ANSWER_BEFORE_SETTLEMENT": answerBeforeSettlement])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("early@example.com").accessToken
        let stored = try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)], token: token)
        XCTAssertEqual(stored.status, 201, stored.text)
        client = ChatWireClient(port: server.port, token: token)
        project = try XCTUnwrap(try server.createProject(["name": "Early", "budget_period": "total", "budget_limit": "5"], token: token)["id"] as? String)
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    /// Holds every settlement back until `release` is called (or the connection goes).
    private func holdSettlements() throws -> PostgresConnection {
        let owner = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
        _ = try owner.query("begin")
        _ = try owner.query("lock table public.generation_attempts in share mode")
        return owner
    }

    private func release(_ owner: PostgresConnection) throws {
        _ = try owner.query("rollback")
    }

    /// Runs `body` on another thread; the result once it returns.
    private func inBackground<T>(_ body: @escaping @Sendable () throws -> T) -> @Sendable () -> Result<T, any Error>? {
        let result = Mutex2<Result<T, any Error>?>(nil)
        Thread.detachNewThread { let outcome = Result { try body() }; result.mutate { $0 = outcome } }
        return { result.value }
    }

    /// A completion on the test's project, sent from another thread; its answer once it came.
    private func completeInBackground(content: String? = nil) -> @Sendable () -> Result<ChatWireClient.Completion, any Error>? {
        let headers = ["X-Project-Id": project]
        let client: ChatWireClient = self.client
        return inBackground { try client.complete(content.map { ChatWireClient.body(content: $0) } ?? ChatWireClient.body(), headers: headers) }
    }

    private func waitFor<T>(_ poll: () -> T?, seconds: Double = 10) -> T? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let value = poll() { return value }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return poll()
    }

    func testTheAnswerLeavesWhileItsSettlementIsHeldAndTheUsersReadWaitsForIt() throws {
        try start(answerBeforeSettlement: "on")
        let owner = try holdSettlements()
        let answer = completeInBackground()
        let completion = try XCTUnwrap(waitFor(answer), "answered while its settlement cannot be written").get()
        XCTAssertEqual(completion.status, 200, completion.text)
        let id = try XCTUnwrap(completion.generationID)
        let cost = try XCTUnwrap(completion.costHeader)
        XCTAssertGreaterThan(cost, .zero)
        XCTAssertEqual(server.environment.generations.settlements.count, 1, "its settlement is in flight")

        // The same user's read waits for it; the read is answered only once the settlement is let through.
        let server: TestServer = self.server
        let token = self.token
        let read = inBackground { try server.get("/v1/generations/\(id)", token: token) }
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertNil(read(), "the user's read waits for the settlement in flight")
        try release(owner)
        let detail = try XCTUnwrap(waitFor(read), "the read is answered once the settlement is written").get().json()
        XCTAssertEqual(detail["status"] as? String, "succeeded")
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(detail["actual_cost_usd"] as? String)), cost, "X-Cost-USD is what was settled")
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, cost)
        XCTAssertEqual(budget.reserved, .zero)
        XCTAssertEqual(server.environment.generations.settlements.count, 0)
    }

    func testTheUsersNextAdmissionAndAnotherUsersReadsDoNotWaitForAHeldSettlement() throws {
        try start(answerBeforeSettlement: "on")
        let other = try server.signUp("other@example.com").accessToken
        let owner = try holdSettlements()
        defer { try? release(owner) }
        let first = completeInBackground()
        XCTAssertEqual(try XCTUnwrap(waitFor(first)).get().status, 200)
        // The reservation of the first is still held: the second is admitted beside it and answered too.
        let second = completeInBackground(content: "Another one.")
        XCTAssertEqual(try XCTUnwrap(waitFor(second), "an admission does not wait for the user's settlements").get().status, 200)
        XCTAssertEqual(server.environment.generations.settlements.count, 2)
        let started = Date()
        XCTAssertEqual(try server.get("/v1/projects", token: other).status, 200)
        XCTAssertLessThan(Date().timeIntervalSince(started), SettlementsInFlight.longestWait / 2, "another user's read does not wait")
        try release(owner)
        XCTAssertEqual(waitFor({ server.environment.generations.settlements.count == 0 ? true : nil }), true)
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.reserved, .zero)
        XCTAssertGreaterThan(budget.spent, .zero)
    }

    func testABudgetRefusalBesideASettlementInFlightIsDecidedAgainOnceItIsWritten() throws {
        try start(answerBeforeSettlement: "on")
        // One completion settled first: its reservation (the estimate) and its cost size the budget.
        let learned = try client.complete(ChatWireClient.body(), headers: ["X-Project-Id": project])
        XCTAssertEqual(learned.status, 200, learned.text)
        let detail = try server.get("/v1/generations/\(try XCTUnwrap(learned.generationID))", token: token).json()
        let reservation = try Money(parsing: try XCTUnwrap(detail["estimate_usd"] as? String))
        let cost = try XCTUnwrap(learned.costHeader)
        XCTAssertLessThan(cost, reservation, "the charge is below the reservation")
        // Room for one reservation beside a charge, not for two reservations.
        let limit = reservation + reservation - (try Money(parsing: "0.0000000001"))
        project = try XCTUnwrap(try server.createProject(["name": "Tight", "budget_period": "total", "budget_limit": limit.description],
                                                         token: token)["id"] as? String)
        let owner = try holdSettlements()
        let first = completeInBackground()
        XCTAssertEqual(try XCTUnwrap(waitFor(first)).get().status, 200)
        // The first's reservation is still held, so the second does not fit yet: it is decided again
        // once the first's settlement is written, instead of being refused (the same request: the
        // same reservation).
        let second = completeInBackground()
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertNil(second(), "the refused admission waits for the settlement in flight")
        try release(owner)
        let answer = try XCTUnwrap(waitFor(second), "decided again once the settlement is written").get()
        XCTAssertEqual(answer.status, 200, answer.text)
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.reserved, .zero)
        XCTAssertLessThanOrEqual(budget.spent, limit)
    }

    func testWithItOffTheAnswerWaitsForTheSettlement() throws {
        try start(answerBeforeSettlement: "off")
        let owner = try holdSettlements()
        let answer = completeInBackground()
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertNil(answer(), "not answered while the settlement is held")
        XCTAssertEqual(server.environment.generations.settlements.count, 0)
        try release(owner)
        let completion = try XCTUnwrap(waitFor(answer)).get()
        XCTAssertEqual(completion.status, 200, completion.text)
        XCTAssertEqual(try server.budget(of: project, token: token).spent, try XCTUnwrap(completion.costHeader))
    }
}

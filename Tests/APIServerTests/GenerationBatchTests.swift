@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// `POST /v1/generations/batch` against the `fake-providers` executable (and the offline
/// provider): one reservation for the whole batch, each item charged at its cost, the rest
/// released, all-or-nothing admission, cancel-remaining, idempotent replay.
final class GenerationBatchTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var fakePort: Int { fake?.port ?? 0 }
    private var server: TestServer!
    private var token = ""

    override func setUpWithError() throws {
        fake = try FakeProvidersProcess(arguments: ["--slow-seconds", "5"])
        server = try Self.server(fake: try XCTUnwrap(fake))
        token = try server.signUp("batches@example.com").accessToken
        let stored = try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)], token: token)
        XCTAssertEqual(stored.status, 201, stored.text)
    }

    private static func server(fake: FakeProvidersProcess, environment: [String: String] = [:]) throws -> TestServer {
        let server = try TestServer(environment: fake.baseURLs.merging(["DB_POOL_TIMEOUT_MS": "10000"]) { $1 }
            .merging(environment) { _, override in override })
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        return server
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    private func project(limit: String? = nil) throws -> String {
        var body: [String: Any] = ["name": "Batches", "budget_period": "total"]
        if let limit { body["budget_limit"] = limit }
        return try XCTUnwrap(try server.createProject(body, token: token)["id"] as? String)
    }

    private static func item(_ prompt: String, provider: String = "openai", key: String? = nil) -> [String: Any] {
        var item: [String: Any] = ["type": "text", "prompt": prompt, "provider": provider, "parameters": ["max_output_tokens": 100]]
        if let key { item["idempotency_key"] = key }
        return item
    }

    private func batch(_ project: String, _ items: [[String: Any]], headers: [String: String] = [:]) throws -> HTTPTestConnection.Response {
        var all = headers
        all["Content-Type"] = "application/json"
        all["Authorization"] = "Bearer \(token)"
        return try HTTPTestConnection(port: server.port, timeoutSeconds: 60).request(
            "POST", "/v1/generations/batch", headers: all,
            body: try JSONSerialization.data(withJSONObject: ["project_id": project, "items": items]))
    }

    /// Polls the batch until it is no longer running.
    private func ended(_ id: String, timeout: Double = 60) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let body = try server.get("/v1/generations/batch/\(id)", token: token).json()
            if body["status"] as? String != "running" || Date() > deadline { return body }
            usleep(100_000)
        }
    }

    private static func items(_ body: [String: Any]) throws -> [[String: Any]] {
        try XCTUnwrap(body["items"] as? [[String: Any]], "\(body)")
    }

    private static func generation(_ item: [String: Any]) throws -> [String: Any] {
        try XCTUnwrap(item["generation"] as? [String: Any])
    }

    private static func money(_ value: Any?) throws -> Money {
        try Money(parsing: try XCTUnwrap(value as? String))
    }

    /// The sum of the succeeded items' actual costs.
    private static func succeededCost(_ body: [String: Any]) throws -> Money {
        try items(body).map(generation).filter { $0["status"] as? String == "succeeded" }
            .reduce(Money.zero) { $0 + (try money($1["actual_cost_usd"])) }
    }

    func testABatchOfTextItemsAllSucceedAndTheLedgerChargesExactlyTheSumOfTheirCosts() throws {
        let project = try project(limit: "5")
        let response = try batch(project, (0..<6).map { Self.item("Write haiku number \($0).", key: "item-\($0)") })
        XCTAssertEqual(response.status, 202, response.text)
        let admitted = try response.json()
        let id = try XCTUnwrap(admitted["id"] as? String)
        XCTAssertEqual(response.header("location"), "/v1/generations/batch/\(id)")
        let estimate = try Self.money(admitted["estimate_usd"])
        let itemEstimates = try Self.items(admitted).map(Self.generation).reduce(Money.zero) { $0 + (try Self.money($1["estimate_usd"])) }
        XCTAssertEqual(estimate, itemEstimates, "one reservation for the sum of the items' estimates")
        XCTAssertEqual(try server.budget(of: project, token: token).reserved, estimate, "held as one reservation while it runs")

        let body = try ended(id)
        XCTAssertEqual(body["status"] as? String, "finished", "\(body)")
        let items = try Self.items(body)
        XCTAssertEqual(items.count, 6)
        XCTAssertEqual(items.map { $0["idempotency_key"] as? String }, (0..<6).map { "item-\($0)" }, "results in request order with their keys")
        XCTAssertEqual(try items.map(Self.generation).map { $0["status"] as? String }, Array(repeating: "succeeded", count: 6))
        XCTAssertEqual((body["counts"] as? [String: Any])?["succeeded"] as? Int, 6)
        let sum = try Self.succeededCost(body)
        XCTAssertGreaterThan(sum, .zero)
        XCTAssertEqual(try Self.money(body["charged_usd"]), sum)
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, sum, "the ledger charged exactly the sum of the item costs")
        XCTAssertEqual(budget.reserved, .zero, "nothing is left reserved")
    }

    func testABatchOfOfflineItemsSucceedsWithoutKeys() throws {
        let project = try project()
        let response = try batch(project, (0..<3).map { Self.item("Offline \($0)", provider: "local") })
        XCTAssertEqual(response.status, 202, response.text)
        let body = try ended(try XCTUnwrap(try response.json()["id"] as? String))
        XCTAssertEqual(body["status"] as? String, "finished", "\(body)")
        XCTAssertEqual((body["counts"] as? [String: Any])?["succeeded"] as? Int, 3, "\(body)")
        for item in try Self.items(body) {
            XCTAssertFalse((try Self.generation(item)["text"] as? String ?? "").isEmpty, "each item has its result")
        }
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, try Self.succeededCost(body))
        XCTAssertEqual(budget.reserved, .zero)
    }

    /// Free work needs no headroom: a user budget of 0 still admits a batch of offline items (a
    /// reservation of nothing), and the batch it answered with can be read back.
    func testAZeroUserBudgetAdmitsAFreeBatchAndTheBatchCanBeReadBack() throws {
        XCTAssertEqual(try server.send("PUT", "/v1/user-budget", ["monthly_limit": "0"], token: token).status, 200)
        let project = try project()
        let response = try batch(project, [["type": "text", "prompt": "0", "provider": "local"], ["type": "image", "prompt": "\u{94}\u{3}\u{9AA1}", "provider": "local", "model": NSNull()]])
        XCTAssertEqual(response.status, 202, response.text)
        let id = try XCTUnwrap(try response.json()["id"] as? String)
        let read = try server.get("/v1/generations/batch/\(id)", token: token)
        XCTAssertEqual(read.status, 200, read.text)
        XCTAssertEqual(try ended(id)["status"] as? String, "finished")
        XCTAssertEqual(try server.budget(of: project, token: token).spent, .zero)
    }

    /// Deleting a project deletes its batches and their items with it: afterwards both read 404
    /// (schemathesis's stateful phase cannot tell this from a lost resource; see schemathesis.toml).
    func testDeletingAnIdleProjectDeletesItsBatchesAndTheirItems() throws {
        let project = try project()
        let response = try batch(project, [Self.item("Offline cascade", provider: "local")])
        XCTAssertEqual(response.status, 202, response.text)
        let id = try XCTUnwrap(try response.json()["id"] as? String)
        let body = try ended(id)
        XCTAssertEqual(body["status"] as? String, "finished", "\(body)")
        let item = try XCTUnwrap(try Self.generation(try XCTUnwrap(Self.items(body).first))["id"] as? String)
        XCTAssertEqual(try server.get("/v1/generations/\(item)", token: token).status, 200)
        let deleted = try server.send("DELETE", "/v1/projects/\(project)", token: token)
        XCTAssertEqual(deleted.status, 204, deleted.text)
        let batchRead = try server.get("/v1/generations/batch/\(id)", token: token)
        XCTAssertEqual(batchRead.status, 404, batchRead.text)
        XCTAssertEqual(try batchRead.json()["code"] as? String, "not_found")
        XCTAssertEqual(try server.get("/v1/generations/\(item)", token: token).status, 404)
    }

    func testPartialFailuresChargeOnlyTheSuccessesAndReleaseTheRest() throws {
        let project = try project(limit: "5")
        let prompts = ["A fine haiku.", "[fake:server_error] fails", "Another haiku.", "[fake:bad_request] fails too"]
        let response = try batch(project, prompts.map { Self.item($0) })
        XCTAssertEqual(response.status, 202, response.text)
        let estimate = try Self.money(try response.json()["estimate_usd"])
        let body = try ended(try XCTUnwrap(try response.json()["id"] as? String))
        XCTAssertEqual(body["status"] as? String, "finished", "\(body)")
        let statuses = try Self.items(body).map(Self.generation).map { $0["status"] as? String }
        XCTAssertEqual(statuses, ["succeeded", "failed", "succeeded", "failed"])
        for failed in try Self.items(body).map(Self.generation) where failed["status"] as? String == "failed" {
            XCTAssertNil(failed["actual_cost_usd"], "a failed item costs nothing")
        }
        let sum = try Self.succeededCost(body)
        XCTAssertGreaterThan(sum, .zero)
        XCTAssertLessThan(sum, estimate)
        XCTAssertEqual(try Self.money(body["charged_usd"]), sum)
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, sum, "only the successes are charged")
        XCTAssertEqual(budget.reserved, .zero, "the rest of the reservation is released")
    }

    func testABatchLargerThanTheBudgetIsRefusedWholeAndNothingIsAdmitted() throws {
        let probe = try project()
        let one = try XCTUnwrap(try batch(probe, [Self.item("Probe.")]).json()["estimate_usd"] as? String)
        let estimate = try Money(parsing: one)
        // Room for three items, not four.
        let limit = estimate + estimate + estimate + estimate - (try Money(units: 1, scale: 10))
        let project = try project(limit: limit.jsonString)
        let response = try batch(project, (0..<4).map { Self.item("Item \($0).") })
        XCTAssertEqual(response.status, 402, response.text)
        XCTAssertEqual(try response.json()["code"] as? String, "budget_exceeded")
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.reserved, .zero, "nothing is reserved")
        XCTAssertEqual(budget.spent, .zero)
        let listed = try server.get("/v1/generations?project_id=\(project)", token: token).json()
        XCTAssertEqual((listed["data"] as? [Any])?.count, 0, "no item was created: \(listed)")
        XCTAssertEqual(try batch(project, (0..<3).map { Self.item("Item \($0).") }).status, 202, "three fit")
    }

    func testMoreThanAHundredItemsNoItemsOrADuplicateItemKeyAre422() throws {
        let project = try project()
        let tooMany = try batch(project, (0...100).map { Self.item("Item \($0)", provider: "local") })
        XCTAssertEqual(tooMany.status, 422, tooMany.text)
        XCTAssertEqual(try tooMany.json()["code"] as? String, "validation_failed")
        XCTAssertEqual(try batch(project, []).status, 422)
        let duplicate = try batch(project, [Self.item("a", provider: "local", key: "k"), Self.item("b", provider: "local", key: "k")])
        XCTAssertEqual(duplicate.status, 422, duplicate.text)
        XCTAssertTrue(duplicate.text.contains("items[1].idempotency_key"), duplicate.text)
        let listed = try server.get("/v1/generations?project_id=\(project)", token: token).json()
        XCTAssertEqual((listed["data"] as? [Any])?.count, 0, "nothing was created: \(listed)")
        XCTAssertEqual(try batch(project, (0..<100).map { Self.item("Item \($0)", provider: "local") }).status, 202, "100 is allowed")
        let nobodys = try batch(UUID().uuidString.lowercased(), [Self.item("a", provider: "local")])
        XCTAssertEqual(nobodys.status, 404, "an unknown project: \(nobodys.text)")
    }

    /// Cancel-remaining charges a canceled item what a canceled single generation in its state is
    /// charged: the items waiting their turn nothing, the four whose calls were in flight what the
    /// provider answered them (it billed them). The batch ends once those answers are in, its
    /// reservation settled with exactly their charges. (It ended at once, charging nothing, before.)
    func testItemsInFlightPerProviderAreBoundedAndCancelRemainingChargesOnlyWhatTheProviderStillBilled() throws {
        let project = try project(limit: "5")
        let response = try batch(project, (0..<7).map { Self.item("[fake:slow:3] item \($0)") })
        XCTAssertEqual(response.status, 202, response.text)
        let id = try XCTUnwrap(try response.json()["id"] as? String)
        usleep(1_500_000)
        let counters = try HTTPTestConnection(port: fakePort).request("GET", "/_fake/counters").json()
        let routes = (((counters["providers"] as? [String: Any])?["openai"] as? [String: Any])?["routes"] as? [String: Any]) ?? [:]
        let calls = routes.values.compactMap { $0 as? Int }.reduce(0, +)
        XCTAssertEqual(calls, BatchExecutor.defaultPerProvider, "at most \(BatchExecutor.defaultPerProvider) items in flight on one credential: \(routes)")

        // An item alone cannot be canceled: its money is the batch's reservation (this was a 500).
        let firstItem = try XCTUnwrap(try Self.items(try response.json()).first.map(Self.generation)?["id"] as? String)
        let itemCancel = try server.post("/v1/generations/\(firstItem)/cancel", [:], token: token)
        XCTAssertEqual(itemCancel.status, 409, itemCancel.text)
        XCTAssertEqual(try itemCancel.json()["code"] as? String, "batch_item")
        XCTAssertTrue(itemCancel.text.contains(id), "names the batch to cancel instead")

        let cancel = try server.post("/v1/generations/batch/\(id)/cancel", [:], token: token)
        XCTAssertEqual(cancel.status, 200, cancel.text)
        let canceling = try cancel.json()
        XCTAssertEqual(canceling["cancel_requested"] as? Bool, true)
        XCTAssertEqual(canceling["status"] as? String, "running", "it waits for the answers its items' calls still have coming")
        XCTAssertEqual(try Self.items(canceling).map(Self.generation).map { $0["status"] as? String }, Array(repeating: "canceled", count: 7))

        let canceled = try ended(id)
        XCTAssertEqual(canceled["status"] as? String, "canceled", "\(canceled)")
        let items = try Self.items(canceled).map(Self.generation)
        XCTAssertEqual(items.map { $0["status"] as? String }, Array(repeating: "canceled", count: 7), "they stay canceled")
        let charged = items.filter { $0["actual_cost_usd"] != nil }
        XCTAssertEqual(charged.count, BatchExecutor.defaultPerProvider, "the calls in flight were answered and billed: \(items)")
        let sum = try charged.reduce(Money.zero) { $0 + (try Self.money($1["actual_cost_usd"])) }
        XCTAssertGreaterThan(sum, .zero)
        XCTAssertEqual(try Self.money(canceled["charged_usd"]), sum, "the batch is settled with exactly their charges")
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.reserved, .zero, "the reservation ended")
        XCTAssertEqual(budget.spent, sum, "the items waiting their turn cost nothing")
        let again = try server.post("/v1/generations/batch/\(id)/cancel", [:], token: token)
        XCTAssertEqual(again.status, 409, again.text)
        XCTAssertEqual(try again.json()["code"] as? String, "batch_finished")
        let stranger = try server.signUp("batch-stranger@example.com").accessToken
        XCTAssertEqual(try server.get("/v1/generations/batch/\(id)", token: stranger).status, 404, "another user's batch is not found")
    }

    /// A batch of `items` on a server whose leases last 5 s, with the generations of `status` still
    /// leased 7 s later (past their first lease) counted then. Returns the batch id and that count.
    private func leasedAfterTheFirstLease(_ items: [[String: Any]], status: String, email: String) throws -> (id: String, leased: Int) {
        server.stop()
        server = try Self.server(fake: try XCTUnwrap(fake), environment: ["GENERATION_LEASE_SECONDS": "5"])
        token = try server.signUp(email).accessToken
        XCTAssertEqual(try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)],
                                       token: token).status, 201)
        let response = try batch(try project(limit: "5"), items)
        XCTAssertEqual(response.status, 202, response.text)
        let id = try XCTUnwrap(try response.json()["id"] as? String)
        sleep(7)
        let admin = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
        let leased = try admin.query("""
            select count(*)::integer as n from public.generations where status = \(status) and lease_expires_at > now()
            """)[0].decode("n", as: Int.self)
        return (id, leased)
    }

    func testItemsWaitingTheirTurnStayLeasedToTheProcessPastTheirFirstLease() throws {
        let (id, waiting) = try leasedAfterTheFirstLease((0..<6).map { Self.item("[fake:slow:15] item \($0)") }, status: "queued",
                                                         email: "batch-leases@example.com")
        XCTAssertEqual(waiting, 2, "the two items behind the bound are still leased here, past their first 5 s lease")
        XCTAssertEqual(try server.post("/v1/generations/batch/\(id)/cancel", [:], token: token).status, 200)
    }

    /// A running item's step renews its lease while its provider call lasts longer than the lease,
    /// as a single generation's does: a worker must not take it over and end it as an unknown outcome.
    func testARunningItemStaysLeasedWhileItsCallOutlastsTheLease() throws {
        let (id, leased) = try leasedAfterTheFirstLease([Self.item("[fake:slow:11] a long answer")], status: "running",
                                                        email: "batch-running-lease@example.com")
        XCTAssertEqual(leased, 1, "the running item is still leased here, past its first 5 s lease")
        let items = try Self.items(try ended(id)).map(Self.generation)
        XCTAssertEqual(items.map { $0["status"] as? String }, ["succeeded"], "\(items)")
    }

    func testTheSameIdempotencyKeyReplaysTheBatchAndReservesNothingAgain() throws {
        let project = try project(limit: "5")
        let items = (0..<3).map { Self.item("Replay \($0).", key: "r\($0)") }
        let first = try batch(project, items, headers: ["Idempotency-Key": "batch-1"])
        XCTAssertEqual(first.status, 202, first.text)
        let id = try XCTUnwrap(try first.json()["id"] as? String)
        let firstItems = try Self.items(try first.json()).map(Self.generation).map { $0["id"] as? String }
        let body = try ended(id)
        let spent = try server.budget(of: project, token: token).spent
        XCTAssertEqual(spent, try Self.succeededCost(body))

        let replay = try batch(project, items, headers: ["Idempotency-Key": "batch-1"])
        XCTAssertEqual(replay.status, 202, replay.text)
        XCTAssertEqual(replay.header("idempotent-replayed"), "true")
        XCTAssertEqual(try replay.json()["id"] as? String, id, "the same batch")
        XCTAssertEqual(try Self.items(try replay.json()).map(Self.generation).map { $0["id"] as? String }, firstItems, "the same items")
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, spent, "nothing ran or was charged again")
        XCTAssertEqual(budget.reserved, .zero)

        let other = try batch(project, [Self.item("Something else.")], headers: ["Idempotency-Key": "batch-1"])
        XCTAssertEqual(other.status, 422, other.text)
        XCTAssertEqual(try other.json()["code"] as? String, "idempotency_key_reused")
    }
}

/// A batch whose process died: the workers' leftover sweep settles its one reservation with the
/// sum of the succeeded items' costs once every item has ended, and never while one still runs.
final class LeftoverBatchReservationTests: XCTestCase {
    func testTheSweepSettlesADeadBatchOnceItsItemsEndedAndLeavesARunningOneAlone() throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("batch-leftovers@example.com")
        let project = try XCTUnwrap(try server.createProject(["name": "Crashes"], token: session.accessToken)["id"] as? String)
        let projectID = try XCTUnwrap(UUID(uuidString: project))
        let userID = try XCTUnwrap(UUID(uuidString: session.userID))
        let claims = GenerationExecutor.claims(for: userID)
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
        let engine = server.environment.generations
        let items = (0..<2).map { index in
            BatchItemRequest(quote: QuoteRequest(projectID: project, kind: .text, prompt: "item \(index)", provider: .local, maxOutputTokens: 50),
                             settings: GenerationSettings(maxOutputTokens: 50), idempotencyKey: nil)
        }
        // Admitted, never started: the process died right after.
        let (ended, endedItems) = try engine.batchAdmission.admit(project: projectID, items: items, itemLeaseSeconds: 60, as: identity)
        let (running, _) = try engine.batchAdmission.admit(project: projectID, items: items, itemLeaseSeconds: 60, as: identity)
        let cost = try Money(parsing: "0.2")
        for (record, status) in zip(endedItems, [GenerationStatus.succeeded, .failed]) {
            _ = try engine.store.advance(record.id, to: .running, changes: GenerationChanges(), event: nil, claimsJSON: claims)
            // A failure the provider did not bill carries no cost (a charged failure would, migration 081).
            XCTAssertNotNil(try engine.store.advance(record.id, to: status, changes: GenerationChanges(actualCost: status == .succeeded ? cost : nil),
                                                     event: nil,
                                                     claimsJSON: claims))
        }
        XCTAssertEqual(engine.worker.endLeftoverReservations(), 0, "nothing is touched within the grace period")
        let admin = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
        try admin.query("update public.generations set finished_at = now() - interval '2 minutes' where finished_at is not null")
        try admin.query("update public.generation_batches set created_at = now() - interval '10 minutes'")
        try admin.query("update public.budget_ledger set created_at = now() - interval '10 minutes'")
        XCTAssertEqual(engine.worker.endLeftoverReservations(), 1, "only the batch whose items all ended")
        XCTAssertEqual(engine.worker.endLeftoverReservations(), 0, "ended once")
        let budget = try server.budget(of: project, token: session.accessToken)
        XCTAssertEqual(budget.spent, cost, "charged the succeeded item's cost, the failed one nothing")
        XCTAssertEqual(budget.reserved, running.estimate, "the batch with items still queued keeps its reservation")
        XCTAssertFalse(try engine.batches.reservationEnded(running.id, claimsJSON: claims), "a batch with items still queued is left alone")
        XCTAssertTrue(try engine.batches.reservationEnded(ended.id, claimsJSON: claims))
        let read = try server.get("/v1/generations/batch/\(ended.id.uuidString.lowercased())", token: session.accessToken).json()
        XCTAssertEqual(read["status"] as? String, "finished", "reading it records its end: \(read)")
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(read["charged_usd"] as? String)), cost)
    }

    /// The process running a batch died: a worker takes its items over (their leases lapse) and
    /// runs them as batch items, holding only their provider's scope. It ran them on the main
    /// runner before, whose settle of every scope failed on an item without a project reservation
    /// of its own, so a taken-over item never ended.
    func testAWorkerTakesABatchItemOverAsABatchItem() throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("batch-item-takeover@example.com")
        let project = try XCTUnwrap(try server.createProject(["name": "Takeover"], token: session.accessToken)["id"] as? String)
        let userID = try XCTUnwrap(UUID(uuidString: session.userID))
        let claims = GenerationExecutor.claims(for: userID)
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
        let engine = server.environment.generations
        let item = BatchItemRequest(quote: QuoteRequest(projectID: project, kind: .text, prompt: "taken over", provider: .local, maxOutputTokens: 50),
                                    settings: GenerationSettings(maxOutputTokens: 50), idempotencyKey: nil)
        // Admitted, never started: the process died right after, and the item's lease lapsed.
        let (_, items) = try engine.batchAdmission.admit(project: try XCTUnwrap(UUID(uuidString: project)), items: [item],
                                                         itemLeaseSeconds: 60, as: identity)
        let record = try XCTUnwrap(items.first)
        let admin = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
        try admin.query("update public.generations set lease_expires_at = now() - interval '1 second' where id = \(record.id)")
        engine.worker.claimOnce()
        let deadline = Date().addingTimeInterval(10)
        var status = try engine.store.get(record.id, claimsJSON: claims)?.status
        while status?.isTerminal != true, Date() < deadline {
            usleep(50_000)
            status = try engine.store.get(record.id, claimsJSON: claims)?.status
        }
        XCTAssertEqual(status, .succeeded, "the taken-over item ran to its end")
        XCTAssertNotNil(try engine.store.get(record.id, claimsJSON: claims)?.costStatus, "and was settled")
        let local = try PostgresBudgetLedger(pool: server.environment.pool).providerScopes(claimsJSON: claims)[.local]
        XCTAssertEqual(local?.reserved ?? .zero, .zero, "its provider-scope hold ended")
    }

    func testTheSweepEndsABatchItemsProviderScopeHoldThatACrashLeftOpen() throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("batch-item-holds@example.com")
        let project = try XCTUnwrap(try server.createProject(["name": "Holds"], token: session.accessToken)["id"] as? String)
        let userID = try XCTUnwrap(UUID(uuidString: session.userID))
        let claims = GenerationExecutor.claims(for: userID)
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
        let engine = server.environment.generations
        let item = BatchItemRequest(quote: QuoteRequest(projectID: project, kind: .text, prompt: "held", provider: .local, maxOutputTokens: 50),
                                    settings: GenerationSettings(maxOutputTokens: 50), idempotencyKey: nil)
        let (_, items) = try engine.batchAdmission.admit(project: try XCTUnwrap(UUID(uuidString: project)), items: [item],
                                                         itemLeaseSeconds: 60, as: identity)
        let record = try XCTUnwrap(items.first)
        // The item's runner held its provider scope, then the process died after the item ended.
        let amount = try Money(parsing: "0.5")
        XCTAssertTrue(try engine.executor.runner.ledger.holdProvider(generation: record.id, amount: amount, provider: .local,
                                                                     claimsJSON: claims).admitted)
        _ = try engine.store.advance(record.id, to: .failed, changes: GenerationChanges(errorCode: "x"), event: nil, claimsJSON: claims)
        let ledger = PostgresBudgetLedger(pool: server.environment.pool)
        XCTAssertEqual(try ledger.providerScopes(claimsJSON: claims)[.local]?.reserved, amount)
        let admin = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
        try admin.query("update public.generations set finished_at = now() - interval '2 minutes' where id = \(record.id)")
        XCTAssertGreaterThanOrEqual(engine.worker.endLeftoverReservations(), 1)
        XCTAssertEqual(try ledger.providerScopes(claimsJSON: claims)[.local]?.reserved, .zero, "the hold is released")
        XCTAssertEqual(try ledger.providerScopes(claimsJSON: claims)[.local]?.spent, .zero, "and nothing charged for a failure")
    }
}

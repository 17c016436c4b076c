@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// A batch item canceled by cancel-remaining is charged what a canceled single generation of the
/// same provider and state is charged (`CanceledTaskCharge`), and the batch's one reservation is
/// settled with that charge included. Before migration 151 such an item was charged nothing: its
/// end went to `finish_generation`, which charges a canceled generation only while it holds a
/// project reservation (a batch item holds only its provider's scope), the runner then released
/// the hold, and the batch had been settled already.
final class BatchCancelChargeTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var server: TestServer!
    private var token = ""
    private var userID = UUID()
    private var admin: PostgresConnection!

    override func setUpWithError() throws {
        fake = try FakeProvidersProcess()
        server = try TestServer(environment: try XCTUnwrap(fake).baseURLs)
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("batch-cancel-charge@example.com")
        token = session.accessToken
        userID = try XCTUnwrap(UUID(uuidString: session.userID))
        for provider in [ProviderID.veo, .runway] {
            XCTAssertEqual(try server.post("/v1/api-keys", ["provider": provider.rawValue, "label": "main", "key": ApiKeyTests.sampleKey(provider)],
                                           token: token).status, 201)
        }
        admin = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    /// Waits until the generation's provider task is stored (Veo is polled every 10 s, so it is still running then).
    private func waitForTask(_ id: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date().addingTimeInterval(15)
        func stored() throws -> Bool {
            try admin.query("select provider_task_id is not null as stored from public.generations where id = \(UUID(uuidString: id))")
                .first?.decode("stored", as: Bool.self) ?? false
        }
        while try !stored(), Date() < deadline { usleep(50_000) }
        XCTAssertTrue(try stored(), "the provider task is stored", file: file, line: line)
    }

    private func money(_ value: Any?, file: StaticString = #filePath, line: UInt = #line) throws -> Money {
        try Money(parsing: try XCTUnwrap(value as? String, file: file, line: line))
    }

    /// Veo cannot cancel an operation, so it bills it anyway: the canceled item is charged its
    /// reserved estimate (`estimated`), exactly as a canceled single Veo generation in the same
    /// state, on the project (through the batch) and on Veo's provider scope.
    func testACanceledVeoItemIsChargedAsACanceledSingleVeoGenerationIs() throws {
        let project = try XCTUnwrap(try server.createProject(["name": "Film", "budget_period": "total", "budget_limit": "50"],
                                                             token: token)["id"] as? String)
        let request: [String: Any] = ["type": "video", "prompt": "waves", "provider": "veo", "parameters": ["duration_seconds": 8]]
        let single = try server.generate(request.merging(["project_id": project]) { $1 }, token: token)
        XCTAssertEqual(single.status, 202, single.text)
        let singleID = try XCTUnwrap(try single.json()["id"] as? String)
        let created = try server.post("/v1/generations/batch", ["project_id": project, "items": [request]], token: token)
        XCTAssertEqual(created.status, 202, created.text)
        let batchID = try XCTUnwrap(try created.json()["id"] as? String)
        let item = try XCTUnwrap(((try created.json()["items"] as? [[String: Any]])?.first?["generation"] as? [String: Any]))
        let itemID = try XCTUnwrap(item["id"] as? String)
        let estimate = try money(item["estimate_usd"])
        XCTAssertGreaterThan(estimate, .zero)
        try waitForTask(singleID)
        try waitForTask(itemID)

        XCTAssertEqual(try server.post("/v1/generations/\(singleID)/cancel", [:], token: token).status, 200)
        let cancel = try server.post("/v1/generations/batch/\(batchID)/cancel", [:], token: token)
        XCTAssertEqual(cancel.status, 200, cancel.text)
        // The batch ends once the canceled item's charge is known (the cancel at Veo runs in the background).
        let deadline = Date().addingTimeInterval(15)
        var batch = try server.get("/v1/generations/batch/\(batchID)", token: token).json()
        while batch["status"] as? String == "running", Date() < deadline {
            usleep(50_000)
            batch = try server.get("/v1/generations/batch/\(batchID)", token: token).json()
        }
        XCTAssertEqual(batch["status"] as? String, "canceled", "\(batch)")

        let singleBody = try server.get("/v1/generations/\(singleID)", token: token).json()
        let itemBody = try server.get("/v1/generations/\(itemID)", token: token).json()
        XCTAssertEqual(singleBody["cost_status"] as? String, "estimated", "\(singleBody)")
        XCTAssertEqual(itemBody["status"] as? String, "canceled", "it stays canceled: \(itemBody)")
        XCTAssertEqual(itemBody["cost_status"] as? String, singleBody["cost_status"] as? String, "\(itemBody)")
        XCTAssertEqual(try money(itemBody["actual_cost_usd"]), try money(singleBody["actual_cost_usd"]),
                       "the item is charged what the single generation is")
        XCTAssertEqual(try money(itemBody["actual_cost_usd"]), estimate)
        XCTAssertEqual(try money(batch["charged_usd"]), estimate, "the batch's settlement includes the item's charge")
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.reserved, .zero)
        XCTAssertEqual(budget.spent, estimate + estimate, "the single generation and the item, each at the estimate")
        let veo = try PostgresBudgetLedger(pool: server.environment.pool).providerScopes(claimsJSON: GenerationExecutor.claims(for: userID))[.veo]
        XCTAssertEqual(veo?.spent, estimate + estimate, "charged on Veo's scope too")
        XCTAssertEqual(veo?.reserved, .zero, "no hold left open")
    }

    /// A canceled item whose Runway task the cancel finds already finished is polled once and
    /// charged its actual result, as a single generation is: priced, its output kept (an asset of
    /// the item), the batch settled with that charge.
    func testACanceledItemWhoseTaskHadFinishedIsChargedItsActualResult() async throws {
        let project = try XCTUnwrap(try server.createProject(["name": "Late", "budget_period": "total", "budget_limit": "50"],
                                                             token: token)["id"] as? String)
        let claims = GenerationExecutor.claims(for: userID)
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
        let engine = server.environment.generations
        let request = BatchItemRequest(quote: QuoteRequest(projectID: project, kind: .video, prompt: "waves", provider: .runway, durationSeconds: 5),
                                       settings: GenerationSettings(durationSeconds: 5), idempotencyKey: nil)
        let (batch, items) = try engine.batchAdmission.admit(project: try XCTUnwrap(UUID(uuidString: project)), items: [request],
                                                             itemLeaseSeconds: 60, as: identity)
        let item = try XCTUnwrap(items.first)
        let runner = engine.batchExecutor.runner
        // Submitted, then polled twice (PENDING, RUNNING): the fake's next read of the task finds it SUCCEEDED.
        for _ in 0..<3 {
            guard case .pollAgain = try await runner.step(item.id, userID: userID, claimsJSON: claims) else {
                return XCTFail("the task is still pending at Runway")
            }
        }
        XCTAssertNotNil(try engine.batches.requestCancel(batch.id, claimsJSON: claims))
        let (_, providerCancel) = try runner.cancel(item.id, userID: userID, claimsJSON: claims)
        try await XCTUnwrap(providerCancel)()
        let ended = try XCTUnwrap(try engine.batchExecutor.settlement.finishIfDone(batch.id, claimsJSON: claims))

        let detail = try XCTUnwrap(try engine.store.detail(item.id, claimsJSON: claims))
        XCTAssertEqual(detail.generation.status, .canceled)
        XCTAssertEqual(detail.generation.costStatus, "priced")
        let charged = try XCTUnwrap(detail.generation.actualCost)
        XCTAssertGreaterThan(charged, .zero)
        XCTAssertEqual(detail.assets.count, 1, "the output it was charged for is kept")
        XCTAssertEqual(ended.status, .canceled)
        XCTAssertEqual(ended.charged, charged)
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, charged)
        XCTAssertEqual(budget.reserved, .zero)
        let runway = try PostgresBudgetLedger(pool: server.environment.pool).providerScopes(claimsJSON: claims)[.runway]
        XCTAssertEqual(runway?.spent, charged)
        XCTAssertEqual(runway?.reserved, .zero)
    }

    /// The process died after cancel-remaining canceled an item whose Veo operation ran, before
    /// the cancel's charge was recorded: the leftover sweep charges the item as an unknown outcome
    /// (the estimate, on Veo's scope) and only then settles the batch, with that charge. Before,
    /// the sweep released the item's hold and settled the batch with nothing.
    func testTheSweepChargesAnAbandonedCanceledItemBeforeItSettlesItsBatch() async throws {
        let project = try XCTUnwrap(try server.createProject(["name": "Crash", "budget_period": "total", "budget_limit": "50"],
                                                             token: token)["id"] as? String)
        let claims = GenerationExecutor.claims(for: userID)
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
        let engine = server.environment.generations
        let request = BatchItemRequest(quote: QuoteRequest(projectID: project, kind: .video, prompt: "waves", provider: .veo, durationSeconds: 8),
                                       settings: GenerationSettings(durationSeconds: 8), idempotencyKey: nil)
        let (batch, items) = try engine.batchAdmission.admit(project: try XCTUnwrap(UUID(uuidString: project)), items: [request],
                                                             itemLeaseSeconds: 60, as: identity)
        let item = try XCTUnwrap(items.first)
        let estimate = try XCTUnwrap(item.estimate)
        XCTAssertGreaterThan(estimate, .zero)
        // The item submitted (its Veo hold taken, its operation stored), then canceled; the process died there.
        guard case .pollAgain = try await engine.batchExecutor.runner.step(item.id, userID: userID, claimsJSON: claims) else {
            return XCTFail("the operation is pending at Veo")
        }
        XCTAssertNotNil(try engine.store.advance(item.id, to: .canceled, changes: GenerationChanges(cancelRequested: true),
                                                 event: GenerationEvent("canceled"), claimsJSON: claims)?.providerTask)
        XCTAssertNotNil(try engine.batches.requestCancel(batch.id, claimsJSON: claims))
        try admin.query("update public.generations set finished_at = now() - interval '2 minutes', lease_expires_at = now() where id = \(item.id)")
        try admin.query("update public.generation_batches set created_at = now() - interval '2 minutes' where id = \(batch.id)")

        XCTAssertGreaterThanOrEqual(engine.worker.endLeftoverReservations(), 1)
        let charged = try XCTUnwrap(try engine.store.get(item.id, claimsJSON: claims))
        XCTAssertEqual(charged.status, .canceled)
        XCTAssertEqual(charged.costStatus, "estimated", "charged as an unknown outcome, as a single generation would be")
        XCTAssertEqual(charged.actualCost, estimate)
        XCTAssertEqual(try engine.batches.batch(batch.id, claimsJSON: claims)?.status, .running, "the batch waited for the item's charge")

        XCTAssertGreaterThanOrEqual(engine.worker.endLeftoverReservations(), 1)
        let read = try server.get("/v1/generations/batch/\(batch.id.uuidString.lowercased())", token: token).json()
        XCTAssertEqual(read["status"] as? String, "canceled", "\(read)")
        XCTAssertEqual(try money(read["charged_usd"]), estimate)
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, estimate, "the batch's reservation settled with the item's charge")
        XCTAssertEqual(budget.reserved, .zero)
        let veo = try PostgresBudgetLedger(pool: server.environment.pool).providerScopes(claimsJSON: claims)[.veo]
        XCTAssertEqual(veo?.spent, estimate)
        XCTAssertEqual(veo?.reserved, .zero)
    }
}

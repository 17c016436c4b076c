@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// What a canceled provider task is charged (`CanceledTaskCharge`): nothing where the provider
/// documents no charge for a cancelled job (Runway, a FAL request its cancel took off the queue),
/// the reserved estimate as an unknown outcome where it may bill anyway (Veo has no cancel, a FAL
/// request whose runner was only signalled, a cancel that failed or came too late).
final class CanceledTaskChargeTests: XCTestCase {
    func testTheRuleFollowsWhatEachProviderDocumentsAboutBillingACancelledJob() {
        XCTAssertEqual(CanceledTaskCharge.after(.cancelled, provider: .runway), .nothing, "Runway charges only succeeded tasks")
        XCTAssertEqual(CanceledTaskCharge.after(.removedFromQueue, provider: .fal), .nothing,
                       "FAL's OK: taken off the queue before it started, it never runs")
        XCTAssertEqual(CanceledTaskCharge.after(.stopRequested, provider: .fal), .estimate,
                       "FAL's CANCELLATION_REQUESTED: a runner has it and may run on and bill")
        XCTAssertEqual(CanceledTaskCharge.after(.notSupported, provider: .veo), .estimate,
                       "Veo has no cancel: the operation runs on and is billed")
        XCTAssertEqual(CanceledTaskCharge.after(.alreadyFinished, provider: .runway), .estimate,
                       "too late: it may have succeeded and billed")
        XCTAssertEqual(CanceledTaskCharge.after(nil, provider: .runway), .estimate, "a cancel that failed stopped nothing")
        XCTAssertEqual(CanceledTaskCharge.after(nil, provider: .local), .nothing, "the local provider costs nothing")
    }

    /// A FAL request canceled while still queued: FAL answers `OK` (removed, it never runs), and
    /// the reservation is released; the generation stays canceled, charged nothing.
    func testAFALRequestCanceledWhileQueuedIsChargedNothing() async throws {
        let fixture = try FALCancelFixture(email: "fal-queued-cancel@example.com")
        defer { fixture.stop() }
        let (id, estimate) = try await fixture.submitted(pollsByUs: 0)
        XCTAssertGreaterThan(estimate, .zero)
        XCTAssertEqual(try fixture.server.post("/v1/generations/\(id)/cancel", [:], token: fixture.token).status, 200)
        let budget = try fixture.server.settledBudget(of: fixture.project, token: fixture.token)
        XCTAssertEqual(budget.reserved, .zero)
        XCTAssertEqual(budget.spent, .zero, "a request taken off FAL's queue is not billed")
        let body = try fixture.server.get("/v1/generations/\(id)", token: fixture.token).json()
        XCTAssertEqual(body["status"] as? String, "canceled", "\(body)")
        XCTAssertNil(body["actual_cost_usd"], "\(body)")
        XCTAssertEqual(try fixture.cancelCalls(), 1, "cancelled at FAL, which answers OK for a queued request")
    }

    /// A FAL request whose last poll said `IN_QUEUE` but which a runner took since (FAL polls are
    /// 1.5 s apart for images, 5 s for video): FAL answers the cancel `CANCELLATION_REQUESTED`,
    /// the runner may run on and bill, and the generation is charged the reserved estimate
    /// (`estimated`). It was charged nothing before, going by the stale poll.
    func testAFALRequestThatStartedSinceItsLastPollIsChargedTheEstimateOnCancel() async throws {
        let fixture = try FALCancelFixture(email: "fal-started-cancel@example.com")
        defer { fixture.stop() }
        let (id, estimate) = try await fixture.submitted(pollsByUs: 1)
        let record = try XCTUnwrap(try fixture.server.environment.generations.store.get(try XCTUnwrap(UUID(uuidString: id)),
                                                                                       claimsJSON: fixture.claims))
        XCTAssertEqual(record.providerTask?.providerStatus, "IN_QUEUE", "our last poll saw it queued")
        XCTAssertEqual(try fixture.statusAtFAL(record), "IN_PROGRESS", "a runner took it since")
        XCTAssertEqual(try fixture.server.post("/v1/generations/\(id)/cancel", [:], token: fixture.token).status, 200)
        let budget = try fixture.server.settledBudget(of: fixture.project, token: fixture.token)
        XCTAssertEqual(budget.reserved, .zero)
        XCTAssertEqual(budget.spent, estimate, "the signalled runner may bill: charged at the estimate")
        let body = try fixture.server.get("/v1/generations/\(id)", token: fixture.token).json()
        XCTAssertEqual(body["status"] as? String, "canceled", "it stays canceled: \(body)")
        XCTAssertEqual(body["cost_status"] as? String, "estimated", "\(body)")
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)")), estimate)
        XCTAssertEqual(try fixture.cancelCalls(), 1, "cancelled at FAL, which answers CANCELLATION_REQUESTED for a started one")
    }

    /// A FAL request its cancel took off the queue costs nothing, but the release of its
    /// reservation fails (a database error): that fact is not lost. The generation is recorded as
    /// holding no provider work, and the worker's sweep releases the reservation. Before, the
    /// sweep found it canceled with its task and charged the reserved estimate as an unknown
    /// outcome, for a request FAL never ran.
    func testATaskTheProviderStoppedIsReleasedByTheSweepWhenItsReleaseFailed() async throws {
        let fixture = try FALCancelFixture(email: "fal-release-fails@example.com")
        defer { fixture.stop() }
        let (id, estimate) = try await fixture.submitted(pollsByUs: 0)
        let generation = try XCTUnwrap(UUID(uuidString: id))
        let engine = fixture.server.environment.generations
        let base = engine.executor.runner
        let runner = GenerationRunner(store: base.store, ledger: ReleaseFails(base: base.ledger), blobs: base.blobs, gate: base.gate,
                                      provider: base.provider, key: base.key, pricing: base.pricing,
                                      pollDeadlineSeconds: base.pollDeadlineSeconds, leaseSeconds: base.leaseSeconds)
        let (_, providerCancel) = try runner.cancel(generation, userID: fixture.userID, claimsJSON: fixture.claims)
        try await XCTUnwrap(providerCancel, "a provider task is cancelled at the provider")()
        XCTAssertEqual(try fixture.cancelCalls(), 1, "FAL took it off its queue (OK)")
        XCTAssertEqual(try fixture.server.budget(of: fixture.project, token: fixture.token).reserved, estimate, "the release failed")
        let left = try XCTUnwrap(try engine.store.get(generation, claimsJSON: fixture.claims))
        XCTAssertNil(left.providerTask, "recorded as holding no provider work")
        XCTAssertNil(left.submitting)

        let admin = try PostgresConnection(url: fixture.server.environment.config.migrationDatabaseURL)
        try admin.query("update public.generations set finished_at = now() - interval '2 minutes' where id = \(generation)")
        XCTAssertGreaterThanOrEqual(engine.worker.endLeftoverReservations(), 1)
        let budget = try fixture.server.budget(of: fixture.project, token: fixture.token)
        XCTAssertEqual(budget.reserved, .zero)
        XCTAssertEqual(budget.spent, .zero, "released by the sweep, not charged the estimate")
        let body = try fixture.server.get("/v1/generations/\(id)", token: fixture.token).json()
        XCTAssertEqual(body["status"] as? String, "canceled", "\(body)")
        XCTAssertNil(body["cost_status"], "\(body)")
        XCTAssertNil(body["actual_cost_usd"], "\(body)")
    }

    /// Veo cannot cancel an operation: the canceled generation is charged its reserved estimate
    /// (`estimated`) and stays canceled. It was charged nothing before.
    func testACanceledVeoJobIsChargedTheEstimateSinceVeoBillsItAnyway() throws {
        let user = try EngineTestUser(email: "veo-cancel@example.com", provider: .veo, projectName: "Video", budgetLimit: "50")
        defer { user.stop() }
        let (server, token, project) = (user.server, user.token, user.project)
        let response = try server.generate(["project_id": project, "type": "video", "prompt": "waves", "provider": "veo",
                                            "parameters": ["duration_seconds": 8]], token: token)
        XCTAssertEqual(response.status, 202, response.text)
        let id = try XCTUnwrap(try response.json()["id"] as? String)
        let estimate = try Money(parsing: try XCTUnwrap(try response.json()["estimate_usd"] as? String))
        XCTAssertGreaterThan(estimate, .zero)
        // Once the operation is stored (Veo is polled every 10 s, so it is still running then).
        let deadline = Date().addingTimeInterval(10)
        while try server.get("/v1/generations/\(id)", token: token).json()["status"] as? String != "running", Date() < deadline {
            usleep(50_000)
        }
        usleep(500_000)
        let cancel = try server.post("/v1/generations/\(id)/cancel", [:], token: token)
        XCTAssertEqual(cancel.status, 200, cancel.text)
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.reserved, .zero)
        XCTAssertEqual(budget.spent, estimate, "Veo bills the operation it could not cancel: charged at the estimate")
        let body = try server.get("/v1/generations/\(id)", token: token).json()
        XCTAssertEqual(body["status"] as? String, "canceled", "it stays canceled")
        XCTAssertEqual(body["cost_status"] as? String, "estimated", "\(body)")
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)")), estimate)
    }

    /// A cancel that finds the provider task already finished (Runway's cancel reads the task
    /// first and leaves a finished one alone) polls it once and charges its actual result: the
    /// usage priced (`priced`), its output kept, the generation canceled. It was charged the
    /// reserved estimate (`estimated`) before.
    func testACancelThatFindsTheTaskFinishedChargesItsActualResultNotTheEstimate() async throws {
        let user = try EngineTestUser(email: "runway-late-cancel@example.com", provider: .runway, projectName: "Late", budgetLimit: "50")
        defer { user.stop() }
        let (server, token, userID, project, claims, identity) = (user.server, user.token, user.userID, user.project, user.claims, user.identity)
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .video, prompt: "waves", provider: .runway, durationSeconds: 5),
            settings: GenerationSettings(durationSeconds: 5), as: identity)
        let runner = server.environment.generations.executor.runner
        // Submitted, then polled twice: the fake's task is PENDING, then RUNNING; its next read finds it SUCCEEDED.
        for _ in 0..<3 {
            guard case .pollAgain = try await runner.step(record.id, userID: userID, claimsJSON: claims) else {
                return XCTFail("the task is still pending at the provider")
            }
        }
        XCTAssertEqual(try server.environment.generations.store.get(record.id, claimsJSON: claims)?.providerTask?.providerStatus, "RUNNING")
        let (canceled, providerCancel) = try runner.cancel(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(canceled.status, .canceled)
        try await XCTUnwrap(providerCancel, "a provider task is cancelled at the provider")()

        let body = try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: token).json()
        XCTAssertEqual(body["status"] as? String, "canceled", "it stays canceled: \(body)")
        XCTAssertEqual(body["cost_status"] as? String, "priced", "the actual usage, priced: \(body)")
        let charged = try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)"))
        XCTAssertGreaterThan(charged, .zero)
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, charged)
        XCTAssertEqual(budget.reserved, .zero)
        let counters = try HTTPTestConnection(port: user.fake.port).request("GET", "/_fake/counters").json()
        let routes = (((counters["providers"] as? [String: Any])?["runway"] as? [String: Any])?["routes"] as? [String: Any]) ?? [:]
        XCTAssertNil(routes["DELETE /v1/tasks/{id}"], "a finished task is not deleted: \(routes)")
    }

    /// The same rule at the poll deadline: a Veo job that outlives it cannot be stopped at the
    /// provider, so the generation expires charged its reserved estimate (`estimated`). It expired
    /// as free before.
    func testAVeoJobPastThePollDeadlineExpiresChargedTheEstimate() async throws {
        let user = try EngineTestUser(email: "veo-deadline@example.com", provider: .veo, projectName: "Deadline", budgetLimit: "50")
        defer { user.stop() }
        let (server, token, userID, project, claims, identity) = (user.server, user.token, user.userID, user.project, user.claims, user.identity)
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .video, prompt: "waves", provider: .veo, durationSeconds: 8),
            settings: GenerationSettings(durationSeconds: 8), as: identity)
        let estimate = try XCTUnwrap(record.estimate)
        XCTAssertGreaterThan(estimate, .zero)
        let base = server.environment.generations.executor.runner
        // A runner whose poll deadline has always passed.
        let runner = GenerationRunner(store: base.store, ledger: base.ledger, blobs: base.blobs, gate: base.gate, provider: base.provider,
                                      key: base.key, pricing: base.pricing, pollDeadlineSeconds: 0, leaseSeconds: base.leaseSeconds)
        let submitted = try await runner.step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertNotEqual(submitted, .finished(.expired), "submitted first, the task stored")
        usleep(10_000)
        let expired = try await runner.step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(expired, .finished(.expired))
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, estimate, "Veo bills the job it could not stop: charged at the estimate")
        XCTAssertEqual(budget.reserved, .zero)
        let body = try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: token).json()
        XCTAssertEqual(body["status"] as? String, "expired", "\(body)")
        XCTAssertEqual((body["error"] as? [String: Any])?["code"] as? String, "deadline_exceeded")
        XCTAssertEqual(body["cost_status"] as? String, "estimated", "\(body)")
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)")), estimate)
    }
}

/// A FAL image generation admitted and driven by the runner up to a stored task, against
/// fake-providers, whose FAL queue answers a cancel `OK` while queued and
/// `CANCELLATION_REQUESTED` once in progress.
private struct FALCancelFixture {
    let user: EngineTestUser
    var fake: FakeProvidersProcess { user.fake }
    var server: TestServer { user.server }
    var token: String { user.token }
    var userID: UUID { user.userID }
    var claims: String { user.claims }
    var project: String { user.project }

    init(email: String) throws {
        user = try EngineTestUser(email: email, provider: .fal, projectName: "Images", budgetLimit: "50")
    }

    func stop() { user.stop() }

    /// Admitted, submitted (FAL's task stored as `IN_QUEUE`) and polled `pollsByUs` times by the
    /// runner; the generation's id and its reserved estimate.
    func submitted(pollsByUs: Int) async throws -> (id: String, estimate: Money) {
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .image, prompt: "a kite", provider: .fal, model: "fal-ai/flux/dev", size: "landscape_4_3"),
            settings: GenerationSettings(size: "landscape_4_3"), as: user.identity)
        let runner = server.environment.generations.executor.runner
        for _ in 0...pollsByUs {
            guard case .pollAgain = try await runner.step(record.id, userID: userID, claimsJSON: claims) else {
                throw TestSupportError("the request is still pending at FAL")
            }
        }
        return (record.id.uuidString.lowercased(), try XCTUnwrap(record.estimate))
    }

    /// FAL's status of the task now, read past the runner (the fake moves it on by one state).
    func statusAtFAL(_ record: GenerationRecord) throws -> String? {
        let url = try XCTUnwrap(URL(string: try XCTUnwrap(record.providerTask?.urls["status"])))
        let answer = try HTTPTestConnection(port: fake.port).request("GET", url.path, headers: ["Authorization": "Key \(ApiKeyTests.sampleKey(.fal))"])
        return try answer.json()["status"] as? String
    }

    /// How many cancels FAL was sent.
    func cancelCalls() throws -> Int {
        let counters = try HTTPTestConnection(port: fake.port).request("GET", "/_fake/counters").json()
        let routes = (((counters["providers"] as? [String: Any])?["fal"] as? [String: Any])?["routes"] as? [String: Any]) ?? [:]
        return (routes["PUT /{app}/requests/{id}/cancel"] as? Int) ?? 0
    }
}

/// The engine's ledger, except that every release fails as on a database error.
private struct ReleaseFails: BudgetReservations {
    struct Failure: Error {}
    let base: any BudgetReservations

    func reserve(project: UUID, generation: UUID, amount: Money, provider: ProviderID?, claimsJSON: String) throws -> ReservationOutcome {
        try base.reserve(project: project, generation: generation, amount: amount, provider: provider, claimsJSON: claimsJSON)
    }
    func settle(generation: UUID, cost: Money, provider: ProviderID?, claimsJSON: String) throws {
        try base.settle(generation: generation, cost: cost, provider: provider, claimsJSON: claimsJSON)
    }
    func release(generation: UUID, claimsJSON: String) throws { throw Failure() }
    func holdProvider(generation: UUID, amount: Money, provider: ProviderID, claimsJSON: String) throws -> ReservationOutcome {
        try base.holdProvider(generation: generation, amount: amount, provider: provider, claimsJSON: claimsJSON)
    }
    func charge(of generation: UUID, claimsJSON: String) throws -> Money? { try base.charge(of: generation, claimsJSON: claimsJSON) }
    var firstProviderHeldAtAdmission: Bool { base.firstProviderHeldAtAdmission }
    func endProviderScope(generation: UUID, cost: Money?, claimsJSON: String) throws {
        try base.endProviderScope(generation: generation, cost: cost, claimsJSON: claimsJSON)
    }
    var settlesProviderScopeOnly: Bool { base.settlesProviderScopeOnly }
}

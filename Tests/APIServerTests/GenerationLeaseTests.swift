@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// Who holds a generation's lease. A stopping process starts no generation step: one due is handed
/// to other processes at once (its lease ended), and one whose first step never ran has the
/// submission its admission marked cleared, since nothing was sent: the process that takes it over
/// sends it, instead of ending it `outcome_unknown` at the estimate as it must a submission that may
/// have been sent. A canceled generation whose provider is still answering keeps its process's
/// lease (migration 190): the heartbeat renews it, and the sweep leaves the charge to that process.
final class GenerationLeaseTests: XCTestCase {
    private var server: TestServer!
    private var userID = UUID()
    private var project = ""

    override func setUpWithError() throws {
        server = try TestServer()
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("hand-over@example.com")
        userID = try XCTUnwrap(UUID(uuidString: session.userID))
        project = try XCTUnwrap(try server.createProject(["name": "Hand over"], token: session.accessToken)["id"] as? String)
    }

    override func tearDown() {
        server.stop()
    }

    private var claims: String { GenerationExecutor.claims(for: userID) }

    private func row(_ id: UUID) throws -> (leaseLeft: Double, submitting: Bool) {
        try XCTUnwrap(try server.environment.pool.withServiceRole { transaction in
            try transaction.query("""
                select extract(epoch from lease_expires_at - now())::float8 as left, submitting is not null as submitting
                from public.generations where id = \(id)
                """).first.map { (try $0.decode("left", as: Double.self), try $0.decode("submitting", as: Bool.self)) }
        })
    }

    func testAnAdmittedGenerationNotStartedIsHandedOverUnsentAndRunsElsewhere() async throws {
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .text, prompt: "hand over", provider: .local, maxOutputTokens: 50),
            settings: GenerationSettings(maxOutputTokens: 50),
            as: AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims), startHere: true)
        XCTAssertTrue(try row(record.id).submitting, "admission marks the submission it hands over to its runner")
        let executor = GenerationExecutor(runner: server.environment.generations.executor.runner,
                                          queue: WorkQueue(name: "stopping-test", threads: 1, queueLimit: 4),
                                          board: SignalBoard<UUID>(), logger: Logger(minimumLevel: .error) { _ in })
        XCTAssertEqual(executor.stop(until: Date().addingTimeInterval(1)), 0)
        executor.start(record.id, userID: userID, claimsJSON: claims, admitted: record)
        let handed = try row(record.id)
        XCTAssertLessThanOrEqual(handed.leaseLeft, 0, "its lease ended at once")
        XCTAssertFalse(handed.submitting, "nothing was sent, so nothing is marked in flight")

        // Another process takes it over and runs it: sent now, not ended as an unknown outcome.
        let step = try await server.environment.generations.executor.runner.step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(step, .finished(.succeeded))
        let ended = try XCTUnwrap(try server.environment.generations.store.get(record.id, claimsJSON: claims))
        XCTAssertNil(ended.errorCode)
    }

    func testAStoppingWorkerClaimsNothing() throws {
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .text, prompt: "queued", provider: .local, maxOutputTokens: 50),
            settings: GenerationSettings(maxOutputTokens: 50),
            as: AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims))
        let store = server.environment.generations.store
        _ = try store.advance(record.id, to: nil, changes: GenerationChanges(leaseSeconds: 0), event: nil, claimsJSON: claims)
        let worker = GenerationWorker(store: store, executor: server.environment.generations.executor, owner: "stopping-test",
                                      leaseSeconds: 30, intervalSeconds: 30)
        worker.stopClaiming()
        XCTAssertEqual(worker.claimOnce(), 0)
        XCTAssertEqual(try store.get(record.id, claimsJSON: claims)?.status, .queued, "left for a live process")
    }

    func testTheHeartbeatRenewsACanceledAnswersLeaseAndTheSweepWaitsForIt() throws {
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .text, prompt: "long answer", provider: .local, maxOutputTokens: 50),
            settings: GenerationSettings(maxOutputTokens: 50),
            as: AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims), startHere: true)
        // Canceled while its submission is in flight: the reservation waits for the answer's charge.
        _ = try server.environment.generations.executor.runner.cancel(record.id, userID: userID, claimsJSON: claims)
        // Its lease ran out and it ended long ago, as after a long answer.
        try server.environment.pool.withServiceRole { transaction in
            try transaction.query("""
                update public.generations set lease_expires_at = now() - interval '1 second', finished_at = now() - interval '10 minutes'
                where id = \(record.id)
                """)
        }
        let store = server.environment.generations.store
        XCTAssertTrue(try store.unendedReservations(limit: 100).contains { $0.generationID == record.id }, "an abandoned cancel, as it stands")
        let renewed = try store.advance(record.id, to: nil, changes: GenerationChanges(leaseSeconds: 300), event: nil, claimsJSON: claims)
        XCTAssertEqual(renewed?.status, .canceled, "the heartbeat's renewal applies")
        XCTAssertFalse(try store.unendedReservations(limit: 100).contains { $0.generationID == record.id },
                       "the live process's lease keeps the sweep off")
        // Anything but the lease is still ignored on an ended generation.
        XCTAssertNil(try store.advance(record.id, to: nil, changes: GenerationChanges(errorCode: "x", leaseSeconds: 300), event: nil,
                                       claimsJSON: claims))
    }
}

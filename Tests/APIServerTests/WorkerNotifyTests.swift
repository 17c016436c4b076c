@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// Workers sleep on LISTEN generation_work (migration 082) and wake when a generation becomes
/// claimable, or when the earliest lease runs out; a running step renews its lease (heartbeat).
final class WorkerNotifyTests: XCTestCase {
    private var server: TestServer!
    private var userID = UUID()
    private var project = ""

    override func setUpWithError() throws {
        server = try TestServer(environment: ["GENERATION_LEASE_SECONDS": "6"])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("worker-notify@example.com")
        userID = try XCTUnwrap(UUID(uuidString: session.userID))
        project = try XCTUnwrap(try server.createProject(["name": "Notify"], token: session.accessToken)["id"] as? String)
    }

    override func tearDown() {
        server.stop()
    }

    private var claims: String { GenerationExecutor.claims(for: userID) }

    private func admit() throws -> GenerationRecord {
        try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .text, prompt: "notify", maxOutputTokens: 50),
            settings: GenerationSettings(maxOutputTokens: 50),
            as: AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims))
    }

    func testAGenerationGivenUpNotifiesTheListenerAtOnceAndALeasedOneDoesNot() throws {
        let listener = GenerationWorkListener(url: server.environment.config.databaseURL)
        XCTAssertFalse(try listener.wait(seconds: 0.2), "listening, nothing claimable yet")
        let record = try admit()
        XCTAssertFalse(try listener.wait(seconds: 0.5), "a generation leased to its admitting process wakes nobody")
        let store = server.environment.generations.store
        let claims = self.claims
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            // Its process gives it up: the lease ends now.
            _ = try? store.advance(record.id, to: nil, changes: GenerationChanges(leaseSeconds: 0), event: nil, claimsJSON: claims)
        }
        let started = Date()
        XCTAssertTrue(try listener.wait(seconds: 20))
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "woken by the notification, not a timer")
        let worker = GenerationWorker(store: store, executor: server.environment.generations.executor, owner: "notify-test",
                                      leaseSeconds: 6, intervalSeconds: 30)
        XCTAssertEqual(worker.claimOnce(), 1, "and a worker then claims it")
    }

    func testTheEarliestLeaseExpiryIsKnownSoAnIdleWorkerWakesForIt() throws {
        XCTAssertNil(try server.environment.generations.store.nextLeaseExpiry())
        _ = try admit()
        let expiry = try XCTUnwrap(try server.environment.generations.store.nextLeaseExpiry())
        XCTAssertEqual(expiry.timeIntervalSinceNow, 6, accuracy: 2, "the admitting process's lease")
    }

    func testAStepRenewsItsLeaseWhileItRuns() throws {
        let record = try admit()
        let store = server.environment.generations.store
        let before = try XCTUnwrap(try server.environment.pool.withServiceRole { transaction in
            try transaction.query("select lease_expires_at from public.generations where id = \(record.id)").first?
                .decode("lease_expires_at", as: Date.self)
        })
        // A step that takes longer than a third of the 6 s lease: the heartbeat renews it meanwhile.
        let slow = SlowStore(base: store, delay: 4.5)
        let base = server.environment.generations.executor.runner
        let runner = GenerationRunner(store: slow, ledger: base.ledger, blobs: base.blobs, gate: base.gate, provider: base.provider,
                                      key: base.key, pricing: base.pricing, pollDeadlineSeconds: base.pollDeadlineSeconds, leaseSeconds: 6)
        let executor = GenerationExecutor(runner: runner, queue: WorkQueue(name: "heartbeat-test", threads: 1, queueLimit: 4),
                                          board: SignalBoard<UUID>(), logger: Logger(minimumLevel: .error) { _ in })
        executor.start(record.id, userID: userID, claimsJSON: claims)
        Thread.sleep(forTimeInterval: 3.5)
        let during = try XCTUnwrap(try server.environment.pool.withServiceRole { transaction in
            try transaction.query("select lease_expires_at from public.generations where id = \(record.id)").first?
                .decode("lease_expires_at", as: Date.self)
        })
        XCTAssertGreaterThan(during.timeIntervalSince(before), 1, "renewed while the step was still running")
        let deadline = Date().addingTimeInterval(30)
        var status = try store.get(record.id, claimsJSON: claims)?.status
        while status?.isTerminal != true, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            status = try store.get(record.id, claimsJSON: claims)?.status
        }
        XCTAssertEqual(status, .succeeded)
    }
}

/// The first read of the generation is slow: a step that takes a while.
private final class SlowStore: ForwardingGenerationStore, @unchecked Sendable {
    let delay: Double
    private let lock = NSLock()
    private var slept = false

    init(base: any GenerationStore, delay: Double) {
        self.delay = delay
        super.init(base: base)
    }

    override func get(_ id: UUID, claimsJSON: String) throws -> GenerationRecord? {
        let sleep = lock.withLock { () -> Bool in
            defer { slept = true }
            return !slept
        }
        if sleep { Thread.sleep(forTimeInterval: delay) }
        return try base.get(id, claimsJSON: claimsJSON)
    }
}

import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// The `app_engine` functions allow only the lifecycle's transitions, take cost columns only with
/// `succeeded`, and act only for the owner: what a user could try behind PostgREST gets nowhere.
final class GenerationLifecycleTests: XCTestCase {
    private var pool: ConnectionPool!
    private var store: PostgresGenerationStore!
    private let alice = UUID()
    private let bob = UUID()
    private var project = UUID()
    private var admin: PostgresConnection!

    private func claims(_ user: UUID) -> String {
        #"{"sub":"\#(user.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#
    }

    override func setUpWithError() throws {
        let url = try TestPostgresCluster.shared.createDatabase(prefix: "lifecycle")
        admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        for user in [alice, bob] {
            try admin.query("insert into auth.users (id, email) values (\(user), \(user.uuidString.lowercased() + "@example.com"))")
        }
        project = try admin.query("insert into public.projects (user_id, name) values (\(alice), 'p') returning id")[0].decode("id")
        pool = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 2))
        store = PostgresGenerationStore(pool: pool)
    }

    override func tearDown() {
        pool?.close()
    }

    private func create() throws -> GenerationRecord {
        try store.create(NewGeneration(id: UUID(), projectID: project, kind: .text, prompt: "p", settings: GenerationSettings(),
                                       requestedProvider: nil, requestedModel: nil,
                                       candidates: [GenerationCandidate(provider: .local, model: "offline-text", estimate: .zero)],
                                       estimate: .zero, maxCost: nil, pricingVersion: "v1"),
                         leaseOwner: "test", leaseSeconds: 60, claimsJSON: claims(alice))
    }

    func testOnlyTheLifecyclesTransitionsAreAllowedAndTerminalStatesNeverChange() throws {
        let generation = try create()
        XCTAssertEqual(generation.status, .queued)
        XCTAssertNil(try store.advance(generation.id, to: .running, changes: GenerationChanges(), event: nil, claimsJSON: claims(bob)),
                     "another user cannot move it")
        let running = try XCTUnwrap(try store.advance(generation.id, to: .running, changes: GenerationChanges(),
                                                      event: GenerationEvent("started"), claimsJSON: claims(alice)))
        XCTAssertEqual(running.status, .running)
        XCTAssertNotNil(running.startedAt)
        let canceled = try XCTUnwrap(try store.advance(generation.id, to: .canceled, changes: GenerationChanges(errorCode: "x", actualCost: try Money(parsing: "5")),
                                                       event: GenerationEvent("canceled"), claimsJSON: claims(alice)))
        XCTAssertEqual(canceled.status, .canceled)
        XCTAssertNil(canceled.actualCost, "cost columns are taken only with succeeded or failed (a charged failure)")
        for status in [GenerationStatus.running, .succeeded, .queued, .failed] {
            XCTAssertNil(try store.advance(generation.id, to: status, changes: GenerationChanges(actualCost: .zero), event: nil, claimsJSON: claims(alice)),
                         "canceled is final, not \(status)")
        }
        XCTAssertNil(try store.advance(generation.id, to: nil, changes: GenerationChanges(outputText: "late"), event: nil, claimsJSON: claims(alice)))
        XCTAssertEqual(try store.get(generation.id, claimsJSON: claims(alice))?.status, .canceled)
        XCTAssertThrowsError(try store.addAsset(generation.id, kind: .text, contentType: "text/plain",
                                                blob: StoredBlob(key: "k", sha256: String(repeating: "a", count: 64), bytes: 1),
                                                claimsJSON: claims(alice)), "no output after the end")
        XCTAssertThrowsError(try store.recordAttempt(generation.id, provider: .local, model: "m", error: nil, report: nil, claimsJSON: claims(alice)))
    }

    /// A lone admission reserves and creates the generation in one transaction: when the creation
    /// fails (here: a generation with that id exists already, so its insert conflicts), the
    /// reservation goes with it and nothing is held on any scope. (A group's reservations commit on
    /// their own; GroupedAdmissionTests holds that a failed shared creation gives them back.)
    func testALoneAdmissionWhoseGenerationCannotBeCreatedHoldsNothing() throws {
        let existing = try create()
        let estimate = try Money(parsing: "0.5")
        let duplicate = NewGeneration(id: existing.id, projectID: project, kind: .text, prompt: "p", settings: GenerationSettings(),
                                      requestedProvider: nil, requestedModel: nil,
                                      candidates: [GenerationCandidate(provider: .openai, model: "gpt-4o-mini", estimate: estimate)],
                                      estimate: estimate, maxCost: nil, pricingVersion: "v1")
        XCTAssertThrowsError(try store.admit(duplicate, reserveOn: .openai, start: true, leaseOwner: "test", leaseSeconds: 60,
                                             claimsJSON: claims(alice))) {
            XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "23505")
        }
        let entries = try admin.query("select count(*) as n from public.budget_ledger where generation_id = \(existing.id)")
        XCTAssertEqual(try entries.first?.decode("n", as: Int64.self), 0, "the reservation was rolled back with the creation")
        let held = try admin.query("""
            select (select coalesce(sum(reserved), 0) from public.project_budget_totals where project_id = \(project))
                 + (select coalesce(sum(reserved), 0) from public.budget_scope_totals) = 0 as nothing
            """)
        XCTAssertEqual(try held.first?.decode("nothing", as: Bool.self), true, "nothing reserved on the project or any scope")
    }

    func testAFailureAfterACharge() throws {
        // Migration 081: a generation the provider billed but whose outputs were lost ends failed
        // with its cost recorded.
        let generation = try create()
        let failed = try XCTUnwrap(try store.advance(generation.id, to: .failed, changes: GenerationChanges(
            errorCode: "output_lost", actualCost: try Money(parsing: "0.25")), event: GenerationEvent("failed"), claimsJSON: claims(alice)))
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.actualCost, try Money(parsing: "0.25"))
    }

    func testAnotherUserSeesAndTouchesNothing() throws {
        let generation = try create()
        XCTAssertNil(try store.get(generation.id, claimsJSON: claims(bob)))
        XCTAssertNil(try store.detail(generation.id, claimsJSON: claims(bob)))
        XCTAssertEqual(try store.list(GenerationFilter(), claimsJSON: claims(bob)).items.count, 0)
        XCTAssertThrowsError(try store.recordAttempt(generation.id, provider: .local, model: "m", error: nil, report: nil, claimsJSON: claims(bob)))
        XCTAssertThrowsError(try store.addAsset(generation.id, kind: .text, contentType: "text/plain",
                                                blob: StoredBlob(key: "k", sha256: String(repeating: "a", count: 64), bytes: 1),
                                                claimsJSON: claims(bob)))
        // Bob cannot create a generation in Alice's project either (the composite foreign key).
        XCTAssertThrowsError(try store.create(NewGeneration(id: UUID(), projectID: project, kind: .text, prompt: "p", settings: GenerationSettings(),
                                                            requestedProvider: nil, requestedModel: nil, candidates: [], estimate: .zero,
                                                            maxCost: nil, pricingVersion: "v1"),
                                              leaseOwner: "x", leaseSeconds: 60, claimsJSON: claims(bob)))
    }

    func testIdempotencyKeysAreClaimedOnceAndMismatchesAreReported() throws {
        XCTAssertEqual(try store.claimIdempotencyKey("k", requestHash: "h1", staleAfterSeconds: 60, claimsJSON: claims(alice)), .claimed)
        XCTAssertEqual(try store.claimIdempotencyKey("k", requestHash: "h1", staleAfterSeconds: 60, claimsJSON: claims(alice)), .pending)
        XCTAssertEqual(try store.claimIdempotencyKey("k", requestHash: "h2", staleAfterSeconds: 60, claimsJSON: claims(alice)), .mismatch)
        XCTAssertEqual(try store.claimIdempotencyKey("k", requestHash: "h1", staleAfterSeconds: 60, claimsJSON: claims(bob)), .claimed,
                       "keys are per user")
        try store.finishIdempotencyKey("k", status: 202, body: "{}", claimsJSON: claims(alice))
        XCTAssertEqual(try store.claimIdempotencyKey("k", requestHash: "h1", staleAfterSeconds: 60, claimsJSON: claims(alice)),
                       .replay(status: 202, body: "{}"))
        try store.finishIdempotencyKey("k", status: 500, body: "changed", claimsJSON: claims(alice))
        XCTAssertEqual(try store.claimIdempotencyKey("k", requestHash: "h1", staleAfterSeconds: 60, claimsJSON: claims(alice)),
                       .replay(status: 202, body: "{}"), "the first answer is kept")
    }

    func testWorkersClaimQueuedAndExpiredLeasesOnlyOnce() throws {
        let generation = try create()
        XCTAssertTrue(try store.claimWork(owner: "w1", leaseSeconds: 60, limit: 10).isEmpty, "a live lease is not taken")
        try pool.withServiceRole { try $0.query("update public.generations set lease_expires_at = now() - interval '1 second' where id = \(generation.id)") }
        let claimed = try store.claimWork(owner: "w1", leaseSeconds: 60, limit: 10)
        XCTAssertEqual(claimed.map(\.id), [generation.id])
        XCTAssertEqual(claimed.map(\.userID), [alice])
        XCTAssertTrue(try store.claimWork(owner: "w2", leaseSeconds: 60, limit: 10).isEmpty, "claimed once")
    }
}

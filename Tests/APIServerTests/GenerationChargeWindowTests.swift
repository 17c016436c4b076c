@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// The windows in which a provider's billed success could be paid twice or recorded as free: a
/// storage failure after the provider answered, a process that dies between the provider's answer
/// and its settlement (the submission is marked in flight, so it is never sent again), and a
/// cancel while the provider is answering (the reservation waits for the answer's charge).
final class GenerationChargeWindowTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var fakePort: Int { fake?.port ?? 0 }
    private var server: TestServer!
    private var token = ""
    private var userID = UUID()

    override func setUpWithError() throws {
        fake = try FakeProvidersProcess(arguments: [])
        server = try TestServer(environment: ["OPENAI_BASE_URL": try XCTUnwrap(fake).baseURLs["OPENAI_BASE_URL"] ?? ""])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("charge-window@example.com")
        token = session.accessToken
        userID = try XCTUnwrap(UUID(uuidString: session.userID))
        let stored = try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)], token: token)
        XCTAssertEqual(stored.status, 201, stored.text)
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    private var claims: String { GenerationExecutor.claims(for: userID) }

    /// A text generation pinned to openai, admitted but not started.
    private func admitted() throws -> (project: String, record: GenerationRecord) {
        let project = try XCTUnwrap(try server.createProject(["name": "Windows", "budget_period": "total", "budget_limit": "5"],
                                                              token: token)["id"] as? String)
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .text, prompt: "hello", provider: .openai, maxOutputTokens: 100),
            settings: GenerationSettings(maxOutputTokens: 100), as: identity)
        return (project, record)
    }

    /// The server's runner with other parts swapped in.
    private func runner(blobs: (any BlobStore)? = nil, store: (any GenerationStore)? = nil) -> GenerationRunner {
        let base = server.environment.generations.executor.runner
        return GenerationRunner(store: store ?? base.store, ledger: base.ledger, blobs: blobs ?? base.blobs, gate: base.gate,
                                provider: base.provider, key: base.key, pricing: base.pricing,
                                pollDeadlineSeconds: base.pollDeadlineSeconds, leaseSeconds: base.leaseSeconds)
    }

    private func submissions() throws -> Int {
        let counters = try HTTPTestConnection(port: fakePort).request("GET", "/_fake/counters").json()
        return ((counters["providers"] as? [String: Any])?["openai"] as? [String: Any])?["total"] as? Int ?? 0
    }

    func testAStorageFailureAfterTheProviderAnsweredEndsFailedButChargedNeverReleasedAsFree() async throws {
        let (project, record) = try admitted()
        let step = try await runner(blobs: BrokenBlobStore(scratch: server.environment.generations.blobs))
            .step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(step, .finished(.failed))
        let body = try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: token).json()
        XCTAssertEqual(body["status"] as? String, "failed")
        XCTAssertEqual((body["error"] as? [String: Any])?["code"] as? String, "output_storage_failed")
        let charged = try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "the charge is recorded on it: \(body)"))
        XCTAssertGreaterThan(charged, .zero)
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, charged, "the provider billed it, so the ledger charged it")
        XCTAssertEqual(budget.reserved, .zero)
        XCTAssertEqual(try submissions(), 1)
        // Running it again (a worker taking it over) changes nothing: it ended.
        let rerun = try await runner().step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(rerun, .finished(.failed))
        XCTAssertEqual(try submissions(), 1)
    }

    /// The window between the provider's answer and its settlement: the process dies with the
    /// submission in flight. Taken over, the generation is never submitted again (a second
    /// provider charge); it ends `outcome_unknown`, charged the reserved estimate.
    func testAProcessThatDiesBetweenTheProviderAnswerAndItsSettlementIsNeverSubmittedAgain() async throws {
        let (project, record) = try admitted()
        let estimate = try XCTUnwrap(record.estimate)
        let dying = runner(store: FrozenAfterStart(base: server.environment.generations.store))
        do {
            _ = try await dying.step(record.id, userID: userID, claimsJSON: claims)
            XCTFail("the dying process's step fails")
        } catch {}
        XCTAssertEqual(try submissions(), 1)
        let left = try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: token).json()
        XCTAssertEqual(left["status"] as? String, "running", "left running, as a crash leaves it")
        XCTAssertNil(left["actual_cost_usd"], "nothing was settled: \(left)")
        // Another process takes it over once the lease lapses.
        let takenOver = try await runner().step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(takenOver, .finished(.failed))
        XCTAssertEqual(try submissions(), 1, "never submitted twice")
        let body = try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: token).json()
        XCTAssertEqual((body["error"] as? [String: Any])?["code"] as? String, "outcome_unknown", "\(body)")
        XCTAssertEqual(body["cost_status"] as? String, "estimated", "\(body)")
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)")), estimate)
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, estimate, "the provider may have billed it: charged at the estimate, an upper bound")
        XCTAssertEqual(budget.reserved, .zero)
        // And again: it ended.
        let again = try await runner().step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(again, .finished(.failed))
        XCTAssertEqual(try submissions(), 1)
    }

    /// The same crash on a generation that was also canceled meanwhile: its reservation was kept
    /// for the answer, and no process is left to record it. The provider may have billed the
    /// submission, so the worker's sweep charges it as an unknown outcome (the estimate,
    /// `estimated`) once the dead process's lease has run out; it stays canceled. Released as free
    /// before.
    func testACanceledGenerationWhoseProcessDiedWithASubmissionInFlightIsChargedTheEstimateBySweep() async throws {
        let (project, record) = try admitted()
        let estimate = try XCTUnwrap(record.estimate)
        let id = record.id.uuidString.lowercased()
        let dying = runner(store: FrozenAfterStart(base: server.environment.generations.store))
        do {
            _ = try await dying.step(record.id, userID: userID, claimsJSON: claims)
            XCTFail("the dying process's step fails")
        } catch {}
        XCTAssertEqual(try submissions(), 1)
        let cancel = try server.post("/v1/generations/\(id)/cancel", [:], token: token)
        XCTAssertEqual(cancel.status, 200, cancel.text)
        XCTAssertEqual(try server.budget(of: project, token: token).reserved, estimate, "kept for the answer in flight")
        let worker = server.environment.generations.worker
        let admin = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
        // Ended a while ago, but the process that holds it may still be waiting for the provider.
        try admin.query("update public.generations set finished_at = now() - interval '2 minutes' where id = \(record.id)")
        worker.endLeftoverReservations()
        XCTAssertEqual(try server.budget(of: project, token: token).reserved, estimate, "left alone while its lease runs")
        // The lease ran out: that process is gone.
        try admin.query("update public.generations set lease_expires_at = now() - interval '1 second' where id = \(record.id)")
        worker.endLeftoverReservations()
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, estimate, "the provider may have billed it: charged at the estimate, never released as free")
        XCTAssertEqual(budget.reserved, .zero)
        let body = try server.get("/v1/generations/\(id)", token: token).json()
        XCTAssertEqual(body["status"] as? String, "canceled", "it stays canceled")
        XCTAssertEqual(body["cost_status"] as? String, "estimated", "\(body)")
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)")), estimate)
        worker.endLeftoverReservations()
        XCTAssertEqual(try server.budget(of: project, token: token).spent, estimate, "charged once")
        XCTAssertEqual(try submissions(), 1, "never submitted again")
    }

    /// A cancel that lands while the provider is answering: the generation is canceled, and the
    /// charge the provider made is still on the ledger and on the generation.
    func testACancelWhileTheProviderAnswersStillRecordsTheProvidersCharge() async throws {
        let (project, record) = try admitted()
        let scripted = try HTTPTestConnection(port: fakePort).request(
            "POST", "/_fake/script", headers: ["Content-Type": "application/json"],
            body: try JSONSerialization.data(withJSONObject: ["provider": "openai", "behavior": "slow:1.5", "times": 1]))
        XCTAssertEqual(scripted.status, 201, scripted.text)
        let runner = runner()
        let userID = self.userID
        let claims = self.claims
        let stepping = Task { try await runner.step(record.id, userID: userID, claimsJSON: claims) }
        // Once the call is in flight (counted by the fake), cancel.
        let deadline = Date().addingTimeInterval(5)
        while try submissions() == 0, Date() < deadline { usleep(20_000) }
        XCTAssertEqual(try submissions(), 1)
        let cancel = try server.post("/v1/generations/\(record.id.uuidString.lowercased())/cancel", [:], token: token)
        XCTAssertEqual(cancel.status, 200, cancel.text)
        XCTAssertEqual(try cancel.json()["status"] as? String, "canceled")
        let stepped = try await stepping.value
        XCTAssertEqual(stepped, .finished(.canceled))
        let body = try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: token).json()
        XCTAssertEqual(body["status"] as? String, "canceled")
        let charged = try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "the provider's charge is on it: \(body)"))
        XCTAssertGreaterThan(charged, .zero)
        XCTAssertEqual(body["cost_status"] as? String, "priced")
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, charged, "the ledger has the charge the provider made")
        XCTAssertEqual(budget.reserved, .zero)
        XCTAssertEqual(try submissions(), 1)
    }
}

/// Storage that is down: every write fails; scratch folders still work (the provider writes there).
private struct BrokenBlobStore: BlobStore {
    struct Down: Error {}
    let scratch: any BlobStore

    func put(fileAt path: String, owner: UUID) throws -> StoredBlob { throw Down() }
    func put(_ data: Data, owner: UUID) throws -> StoredBlob { throw Down() }
    func read(_ key: String) throws -> Data? { nil }
    func delete(_ key: String) throws {}
    func scratchDirectory(for generation: UUID) throws -> String { try scratch.scratchDirectory(for: generation) }
    func delete(scratchOf generation: UUID) throws { try scratch.delete(scratchOf: generation) }
    func reader(_ key: String) throws -> (any BlobReader)? { nil }
    func presignedURL(_ key: String, expiresInSeconds: Int, contentType: String, contentDisposition: String) throws -> String? { nil }
    func exists(_ key: String) throws -> Bool { false }
    func keys() throws -> [String] { [] }
    func keys(owner: UUID) throws -> [String] { [] }
    func legacyKeys() throws -> [String] { [] }
    func copyLegacy(_ legacyKey: String, to owner: UUID) throws -> String? { nil }
}

/// A store whose writes fail once the generation is running: the process as good as dead
/// after the provider's answer, before anything of it is recorded.
private struct FrozenAfterStart: GenerationStore {
    struct Gone: Error {}
    let base: any GenerationStore

    func create(_ generation: NewGeneration, leaseOwner: String, leaseSeconds: Int, claimsJSON: String) throws -> GenerationRecord {
        try base.create(generation, leaseOwner: leaseOwner, leaseSeconds: leaseSeconds, claimsJSON: claimsJSON)
    }
    func admit(_ generation: NewGeneration, reserveOn provider: ProviderID?, start: Bool, leaseOwner: String, leaseSeconds: Int,
               claimsJSON: String) throws -> (outcome: ReservationOutcome, record: GenerationRecord?) {
        try base.admit(generation, reserveOn: provider, start: start, leaseOwner: leaseOwner, leaseSeconds: leaseSeconds, claimsJSON: claimsJSON)
    }
    /// The provider's answer is in, and the one call that would settle it never lands.
    func finish(_ id: UUID, inProject projectID: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws -> GenerationDetail? { throw Gone() }
    func finishCanceled(_ id: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws -> GenerationDetail? { throw Gone() }
    func endProviderWork(_ id: UUID, claimsJSON: String) throws -> Bool { throw Gone() }
    func advance(_ id: UUID, to status: GenerationStatus?, changes: GenerationChanges, event: GenerationEvent?,
                 claimsJSON: String) throws -> GenerationRecord? {
        guard status == .running else { throw Gone() }
        return try base.advance(id, to: status, changes: changes, event: event, claimsJSON: claimsJSON)
    }
    func recordAttempt(_ id: UUID, provider: ProviderID, model: String, error: ProviderError?, report: AttemptReport?,
                       claimsJSON: String) throws { throw Gone() }
    func addAsset(_ id: UUID, kind: MediaKind, contentType: String, blob: StoredBlob, claimsJSON: String) throws -> UUID { throw Gone() }
    func get(_ id: UUID, claimsJSON: String) throws -> GenerationRecord? { try base.get(id, claimsJSON: claimsJSON) }
    func detail(_ id: UUID, claimsJSON: String) throws -> GenerationDetail? { try base.detail(id, claimsJSON: claimsJSON) }
    func list(_ filter: GenerationFilter, claimsJSON: String) throws -> GenerationPage {
        try base.list(filter, claimsJSON: claimsJSON)
    }
    func asset(_ id: UUID, claimsJSON: String) throws -> AssetRecord? { try base.asset(id, claimsJSON: claimsJSON) }
    func claimIdempotencyKey(_ key: String, requestHash: String, staleAfterSeconds: Int, claimsJSON: String) throws -> IdempotencyClaim {
        try base.claimIdempotencyKey(key, requestHash: requestHash, staleAfterSeconds: staleAfterSeconds, claimsJSON: claimsJSON)
    }
    func finishIdempotencyKey(_ key: String, status: Int?, body: String?, claimsJSON: String) throws {
        try base.finishIdempotencyKey(key, status: status, body: body, claimsJSON: claimsJSON)
    }
    func claimWork(owner: String, leaseSeconds: Int, limit: Int) throws -> [(id: UUID, userID: UUID, batchItem: Bool)] {
        try base.claimWork(owner: owner, leaseSeconds: leaseSeconds, limit: limit)
    }
    func unendedReservations(limit: Int) throws -> [UnendedReservation] { try base.unendedReservations(limit: limit) }
    func nextLeaseExpiry() throws -> Date? { try base.nextLeaseExpiry() }
}

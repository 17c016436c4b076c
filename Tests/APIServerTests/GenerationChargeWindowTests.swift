@testable import APIServer
import Domain
import Foundation
import Persistence
import Providers
import TestSupport
import XCTest

/// The windows in which a provider's billed success could be paid twice or recorded as free: a
/// storage failure after the provider answered, a process that dies between the provider's answer
/// and its settlement (the submission is marked in flight, so it is never sent again), and a
/// cancel while the provider is answering (the reservation waits for the answer's charge), and a
/// chat answer sent before its settlement (`EarlyAnswers`), whose stated charge the settlement must
/// still write.
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

    /// A text generation pinned to openai, admitted but not started; `asChat`: as the chat surface
    /// admits it (its answer filed as no asset, so it may be answered before its settlement).
    private func admitted(asChat: Bool = false, prompt: String = "hello") throws -> (project: String, record: GenerationRecord) {
        let project = try XCTUnwrap(try server.createProject(["name": "Windows", "budget_period": "total", "budget_limit": "5"],
                                                              token: token)["id"] as? String)
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
        var settings = GenerationSettings(maxOutputTokens: 100)
        if asChat { settings.parameters.chat = ChatOptions(messages: [ChatMessage(role: "user", content: prompt)]) }
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .text, prompt: prompt, provider: .openai, maxOutputTokens: 100),
            settings: settings, as: identity)
        return (project, record)
    }

    /// The server's runner with other parts swapped in.
    private func runner(blobs: (any BlobStore)? = nil, store: (any GenerationStore)? = nil,
                        earlyAnswers: (any EarlyAnswers)? = nil,
                        provider: (@Sendable (ProviderID) -> (any MediaProvider)?)? = nil) -> GenerationRunner {
        let base = server.environment.generations.executor.runner
        return GenerationRunner(store: store ?? base.store, ledger: base.ledger, blobs: blobs ?? base.blobs, gate: base.gate,
                                provider: provider ?? base.provider, key: base.key, pricing: base.pricing,
                                pollDeadlineSeconds: base.pollDeadlineSeconds, leaseSeconds: base.leaseSeconds, earlyAnswers: earlyAnswers)
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

    /// The call went out and its answer never came (the client's time limit passed): the provider
    /// may have run and billed it. It is not sent again nor passed to another candidate, and not
    /// released as free: it ends `outcome_unknown`, charged the reserved estimate.
    func testACallSentWhoseAnswerTimedOutIsChargedTheEstimateNotSentAgainNorReleased() async throws {
        let (project, record) = try admitted(prompt: "hello [fake:slow:3]")
        let estimate = try XCTUnwrap(record.estimate)
        let impatient = OpenAIProvider(baseURL: try XCTUnwrap(fake?.baseURLs["OPENAI_BASE_URL"]),
                                       context: AdapterContext(client: CurlClient(configuration: HTTPClientConfiguration(requestTimeout: 0.5))))
        let step = try await runner(provider: { $0 == .openai ? impatient : nil }).step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(step, .finished(.failed))
        XCTAssertEqual(try submissions(), 1, "sent once")
        let body = try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: token).json()
        XCTAssertEqual((body["error"] as? [String: Any])?["code"] as? String, "outcome_unknown", "\(body)")
        XCTAssertEqual(body["cost_status"] as? String, "estimated")
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)")), estimate)
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.spent, estimate, "charged at the estimate, an upper bound of what it may have cost")
        XCTAssertEqual(budget.reserved, .zero)
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

    /// Answered before its settlement (the chat surface's default): the answer is offered before the
    /// settlement is tried, and a settlement the database refuses once is tried again and charges
    /// what the answer stated.
    func testASettlementRefusedOnceAfterAnEarlyAnswerIsTriedAgainAndChargesWhatTheAnswerStated() async throws {
        let (project, record) = try admitted(asChat: true)
        let store = RefusingFinish(base: server.environment.generations.store, refusals: 1)
        let answers = RecordedAnswers(store: store)
        let step = try await runner(store: store, earlyAnswers: answers).step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(step, .finished(.succeeded))
        let offered = try XCTUnwrap(answers.offered, "the answer was offered")
        XCTAssertEqual(answers.finishCallsWhenOffered, 0, "before the settlement was tried")
        XCTAssertEqual(offered.generation.status, .succeeded)
        XCTAssertEqual(store.finishCalls, 2, "refused once, then written")
        XCTAssertEqual(store.answeredFlags, [true, true], "each try tells the store the answer went out (it may gather the settlement)")
        XCTAssertEqual(answers.settledCount, 1)
        let stated = try XCTUnwrap(offered.generation.actualCost)
        XCTAssertGreaterThan(stated, .zero)
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, stated, "the ledger charged what the answer stated")
        XCTAssertEqual(budget.reserved, .zero)
    }

    /// Not answered early (a generation, not a chat answer): a settlement the database refuses once
    /// (a pool wait run out, a deadlock broken) is tried again, so the success and its actual cost
    /// stand instead of a takeover's `outcome_unknown` at the estimate.
    func testASettlementRefusedOnceIsTriedAgainAndTheSuccessStands() async throws {
        let (project, record) = try admitted()
        let store = RefusingFinish(base: server.environment.generations.store, refusals: 1)
        let step = try await runner(store: store).step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(step, .finished(.succeeded))
        XCTAssertEqual(store.finishCalls, 2, "refused once, then written")
        let body = try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: token).json()
        XCTAssertEqual(body["status"] as? String, "succeeded", "\(body)")
        XCTAssertEqual(body["cost_status"] as? String, "priced", "\(body)")
        let charged = try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String))
        XCTAssertEqual(try server.budget(of: project, token: token).spent, charged)
        XCTAssertEqual(try submissions(), 1)
    }

    /// Refused every time: given up after three tries, the barrier released (the user's reads stop
    /// waiting) and the generation left running for its lease, as after a crash (the test above's
    /// window: taken over, it ends `outcome_unknown`, charged the estimate).
    func testASettlementRefusedEveryTimeAfterAnEarlyAnswerIsGivenUpAfterThreeTriesAndReleasesTheBarrier() async throws {
        let (_, record) = try admitted(asChat: true)
        let store = RefusingFinish(base: server.environment.generations.store, refusals: 10)
        let answers = RecordedAnswers(store: store)
        do {
            _ = try await runner(store: store, earlyAnswers: answers).step(record.id, userID: userID, claimsJSON: claims)
            XCTFail("the step fails: the database refused the settlement")
        } catch {}
        XCTAssertNotNil(answers.offered)
        XCTAssertEqual(store.finishCalls, 3)
        XCTAssertEqual(answers.settledCount, 1, "the user's reads no longer wait for it")
        let left = try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: token).json()
        XCTAssertEqual(left["status"] as? String, "running", "left to its lease, as after a crash")
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
private final class FrozenAfterStart: ForwardingGenerationStore, @unchecked Sendable {
    struct Gone: Error {}

    /// The provider's answer is in, and the one call that would settle it never lands.
    override func finish(_ id: UUID, inProject projectID: UUID, _ completion: GenerationCompletion,
                         claimsJSON: String) throws -> GenerationDetail? { throw Gone() }
    override func finishCanceled(_ id: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws -> GenerationDetail? { throw Gone() }
    override func endProviderWork(_ id: UUID, claimsJSON: String) throws -> Bool { throw Gone() }
    override func advance(_ id: UUID, to status: GenerationStatus?, changes: GenerationChanges, event: GenerationEvent?,
                          claimsJSON: String) throws -> GenerationRecord? {
        guard status == .running else { throw Gone() }
        return try base.advance(id, to: status, changes: changes, event: event, claimsJSON: claimsJSON)
    }
    override func recordAttempt(_ id: UUID, provider: ProviderID, model: String, error: ProviderError?, report: AttemptReport?,
                                claimsJSON: String) throws { throw Gone() }
    override func addAsset(_ id: UUID, kind: MediaKind, contentType: String, blob: StoredBlob, claimsJSON: String) throws -> UUID {
        throw Gone()
    }
}

/// Records what the runner offers before a settlement, and how many settlements the store had
/// been asked for at that moment.
private final class RecordedAnswers: EarlyAnswers, @unchecked Sendable {
    private let lock = NSLock()
    private let store: RefusingFinish
    private var offeredDetail: GenerationDetail?
    private var callsWhenOffered: Int?
    private var settled = 0

    init(store: RefusingFinish) { self.store = store }

    var offered: GenerationDetail? { lock.withLock { offeredDetail } }
    var finishCallsWhenOffered: Int? { lock.withLock { callsWhenOffered } }
    var settledCount: Int { lock.withLock { settled } }

    func answer(_ detail: GenerationDetail) -> Bool {
        let calls = store.finishCalls
        lock.withLock {
            offeredDetail = detail
            callsWhenOffered = calls
        }
        return true
    }

    func settled(_ generation: GenerationRecord) { lock.withLock { settled += 1 } }
}

/// The server's store, whose settlement (`finish`) the database refuses the first `refusals` times.
private final class RefusingFinish: ForwardingGenerationStore, @unchecked Sendable {
    struct Refused: Error {}
    private let lock = NSLock()
    private var refusalsLeft: Int
    private var calls = 0
    private var answered: [Bool] = []

    init(base: any GenerationStore, refusals: Int) {
        refusalsLeft = refusals
        super.init(base: base)
    }

    var finishCalls: Int { lock.withLock { calls } }
    /// `answeredBeforeSettlement` of every completion `finish` was given.
    var answeredFlags: [Bool] { lock.withLock { answered } }

    override func finish(_ id: UUID, inProject projectID: UUID, _ completion: GenerationCompletion,
                         claimsJSON: String) throws -> GenerationDetail? {
        let refuse = lock.withLock { () -> Bool in
            calls += 1
            answered.append(completion.answeredBeforeSettlement)
            guard refusalsLeft > 0 else { return false }
            refusalsLeft -= 1
            return true
        }
        if refuse { throw Refused() }
        return try base.finish(id, inProject: projectID, completion, claimsJSON: claimsJSON)
    }
}

@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// A completion answered before its settlement (`EarlyAnswers`) has stated its charge: the runner
/// offers the answer before it tries the settlement, tries a settlement the database refuses again
/// (three times in all), and tells the barrier the settlement is over either way, so the user's
/// reads are never held past it.
final class EarlySettlementRetryTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var server: TestServer!
    private var token = ""
    private var userID = UUID()

    override func setUpWithError() throws {
        let fake = try FakeProvidersProcess(arguments: [])
        self.fake = fake
        server = try TestServer(environment: ["OPENAI_BASE_URL": fake.baseURLs["OPENAI_BASE_URL"] ?? ""])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("early-retry@example.com")
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

    private func admitted() throws -> (project: String, record: GenerationRecord) {
        let project = try XCTUnwrap(try server.createProject(["name": "Retry", "budget_period": "total", "budget_limit": "5"],
                                                              token: token)["id"] as? String)
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
        // As the chat surface admits it: a text answer filed as no asset.
        let options = ChatOptions(messages: [ChatMessage(role: "user", content: "hello")])
        var settings = GenerationSettings(maxOutputTokens: 100)
        settings.parameters.chat = options
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .text, prompt: options.transcript, provider: .openai, maxOutputTokens: 100),
            settings: settings, as: identity)
        return (project, record)
    }

    private func runner(_ store: RefusingFinish, _ answers: RecordedAnswers) -> GenerationRunner {
        let base = server.environment.generations.executor.runner
        return GenerationRunner(store: store, ledger: base.ledger, blobs: base.blobs, gate: base.gate, provider: base.provider, key: base.key,
                                pricing: base.pricing, pollDeadlineSeconds: base.pollDeadlineSeconds, leaseSeconds: base.leaseSeconds,
                                earlyAnswers: answers)
    }

    func testASettlementRefusedOnceIsTriedAgainAndChargesWhatTheAnswerStated() async throws {
        let (project, record) = try admitted()
        let store = RefusingFinish(base: server.environment.generations.store, refusals: 1)
        let answers = RecordedAnswers(store: store)
        let step = try await runner(store, answers).step(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(step, .finished(.succeeded))
        let offered = try XCTUnwrap(answers.offered, "the answer was offered")
        XCTAssertEqual(answers.finishCallsWhenOffered, 0, "before the settlement was tried")
        XCTAssertEqual(offered.generation.status, .succeeded)
        XCTAssertEqual(store.finishCalls, 2, "refused once, then written")
        XCTAssertEqual(answers.settledCount, 1)
        let stated = try XCTUnwrap(offered.generation.actualCost)
        XCTAssertGreaterThan(stated, .zero)
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, stated, "the ledger charged what the answer stated")
        XCTAssertEqual(budget.reserved, .zero)
    }

    func testASettlementRefusedEveryTimeIsGivenUpAfterThreeTriesAndReleasesTheBarrier() async throws {
        let (_, record) = try admitted()
        let store = RefusingFinish(base: server.environment.generations.store, refusals: 10)
        let answers = RecordedAnswers(store: store)
        do {
            _ = try await runner(store, answers).step(record.id, userID: userID, claimsJSON: claims)
            XCTFail("the step fails: the database refused the settlement")
        } catch {}
        XCTAssertNotNil(answers.offered)
        XCTAssertEqual(store.finishCalls, 3)
        XCTAssertEqual(answers.settledCount, 1, "the user's reads no longer wait for it")
        let left = try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: token).json()
        XCTAssertEqual(left["status"] as? String, "running", "left to the lease, as after a crash")
    }
}

/// Records what the runner offers and when (counted in the store's finish calls at that moment).
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

/// The server's store, whose `finish` the database refuses the first `refusals` times.
private final class RefusingFinish: GenerationStore, @unchecked Sendable {
    struct Refused: Error {}
    private let base: any GenerationStore
    private let lock = NSLock()
    private var refusalsLeft: Int
    private var calls = 0

    init(base: any GenerationStore, refusals: Int) {
        self.base = base
        refusalsLeft = refusals
    }

    var finishCalls: Int { lock.withLock { calls } }

    func finish(_ id: UUID, inProject projectID: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws -> GenerationDetail? {
        let refuse = lock.withLock { () -> Bool in
            calls += 1
            guard refusalsLeft > 0 else { return false }
            refusalsLeft -= 1
            return true
        }
        if refuse { throw Refused() }
        return try base.finish(id, inProject: projectID, completion, claimsJSON: claimsJSON)
    }
    func create(_ generation: NewGeneration, leaseOwner: String, leaseSeconds: Int, claimsJSON: String) throws -> GenerationRecord {
        try base.create(generation, leaseOwner: leaseOwner, leaseSeconds: leaseSeconds, claimsJSON: claimsJSON)
    }
    func admit(_ generation: NewGeneration, reserveOn provider: ProviderID?, start: Bool, leaseOwner: String, leaseSeconds: Int,
               claimsJSON: String) throws -> (outcome: ReservationOutcome, record: GenerationRecord?) {
        try base.admit(generation, reserveOn: provider, start: start, leaseOwner: leaseOwner, leaseSeconds: leaseSeconds, claimsJSON: claimsJSON)
    }
    func finishCanceled(_ id: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws -> GenerationDetail? {
        try base.finishCanceled(id, completion, claimsJSON: claimsJSON)
    }
    func endProviderWork(_ id: UUID, claimsJSON: String) throws -> Bool { try base.endProviderWork(id, claimsJSON: claimsJSON) }
    func advance(_ id: UUID, to status: GenerationStatus?, changes: GenerationChanges, event: GenerationEvent?,
                 claimsJSON: String) throws -> GenerationRecord? {
        try base.advance(id, to: status, changes: changes, event: event, claimsJSON: claimsJSON)
    }
    func recordAttempt(_ id: UUID, provider: ProviderID, model: String, error: ProviderError?, report: AttemptReport?,
                       claimsJSON: String) throws {
        try base.recordAttempt(id, provider: provider, model: model, error: error, report: report, claimsJSON: claimsJSON)
    }
    func addAsset(_ id: UUID, kind: MediaKind, contentType: String, blob: StoredBlob, claimsJSON: String) throws -> UUID {
        try base.addAsset(id, kind: kind, contentType: contentType, blob: blob, claimsJSON: claimsJSON)
    }
    func get(_ id: UUID, claimsJSON: String) throws -> GenerationRecord? { try base.get(id, claimsJSON: claimsJSON) }
    func detail(_ id: UUID, claimsJSON: String) throws -> GenerationDetail? { try base.detail(id, claimsJSON: claimsJSON) }
    func list(_ filter: GenerationFilter, claimsJSON: String) throws -> GenerationPage { try base.list(filter, claimsJSON: claimsJSON) }
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

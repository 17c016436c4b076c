@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// Admission clears the first attempt of a generation it starts here in its own call (migration
/// 130, `app_engine.clear_first_attempt`), as the attempt gate and the key lookup cleared it
/// before: an open circuit or an empty bucket skips it, a half-open circuit lets one trial
/// through, and the key comes back sealed and marked used. A refused admission clears nothing.
final class AdmissionFirstAttemptTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var server: TestServer!
    private var token = ""
    private var userID = UUID()
    private var project = UUID()
    private var openaiKey = ""

    override func setUpWithError() throws {
        let fake = try FakeProvidersProcess()
        self.fake = fake
        server = try TestServer(environment: fake.baseURLs)
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("first-attempt@example.com")
        token = session.accessToken
        userID = try XCTUnwrap(UUID(uuidString: session.userID))
        for provider in [ProviderID.openai, .anthropic] {
            let key = ApiKeyTests.sampleKey(provider)
            if provider == .openai { openaiKey = key }
            let stored = try server.post("/v1/api-keys", ["provider": provider.rawValue, "label": "main", "key": key], token: token)
            XCTAssertEqual(stored.status, 201, stored.text)
        }
        project = try XCTUnwrap(UUID(uuidString: try XCTUnwrap(try server.createProject(["name": "First", "budget_period": "total",
                                                                                          "budget_limit": "5"], token: token)["id"] as? String)))
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    private var claims: String { GenerationExecutor.claims(for: userID) }

    private func owner() throws -> PostgresConnection {
        try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
    }

    private func number(_ query: SQL) throws -> Int {
        Int(try XCTUnwrap(try owner().query(query).first).decode("n", as: Int64.self))
    }

    /// Admitted through the store with the first attempt (openai, then anthropic) cleared at `at`.
    private func admit(estimate: String = "0.01", at: Date = Date()) throws -> GenerationRecord? {
        let version = try XCTUnwrap(try server.environment.pricing.currentVersion()?.id)
        let amount = try Money(parsing: estimate)
        let generation = NewGeneration(
            id: UUID(), projectID: project, kind: .text, prompt: "hello", settings: GenerationSettings(maxOutputTokens: 16),
            requestedProvider: nil, requestedModel: nil,
            candidates: [GenerationCandidate(provider: .openai, model: "gpt-4o-mini", estimate: amount),
                         GenerationCandidate(provider: .anthropic, model: "claude-haiku-4-5", estimate: amount)],
            estimate: amount, maxCost: nil, pricingVersion: version)
        return try server.environment.generations.store.admit(
            generation, reserveOn: .openai, start: true, leaseOwner: "test", leaseSeconds: 60,
            clearing: FirstAttemptCheck(provider: .openai, needsKey: true, at: at, cooldown: 30), claimsJSON: claims).record
    }

    private func openaiKeyLastUsed() throws -> Int {
        try number("select count(*) as n from public.user_api_keys where provider = 'openai' and last_used_at is not null")
    }

    private func openaiBuckets() throws -> Int {
        try number("select count(*) as n from public.provider_rate_limits where provider = 'openai'")
    }

    private func health(reopenIn seconds: Double) throws {
        _ = try owner().query("""
            insert into public.provider_health (user_id, provider, consecutive_failures, reopen_at)
            values (\(userID), 'openai', 5, now() + make_interval(secs => \(seconds)))
            on conflict (user_id, provider) do update set reopen_at = excluded.reopen_at
            """)
    }

    func testAdmissionStartedHereTakesTwoRoundTripsAndHandsTheFirstAttemptItsKeyMarkedUsed() throws {
        let request = HTTPRequest(method: "POST", path: "/v1/generations", query: [:], headers: ["authorization": "Bearer \(token)"],
                                  body: Data(), requestID: "test")
        let identity = try server.environment.authenticator.identity(of: request).deferringSessionCheck
        let quote = QuoteRequest(projectID: project.uuidString, kind: .text, prompt: "hello", provider: .openai, maxOutputTokens: 16)
        // A first one warms what is read once per process (the pricing version's document).
        _ = try server.environment.generations.admission.admit(quote, settings: GenerationSettings(maxOutputTokens: 16), as: identity, startHere: true)
        var trips: [Int] = []
        var record: GenerationRecord?
        for _ in 0..<3 {
            let before = DatabaseRoundTrips.count
            record = try server.environment.generations.admission.admit(quote, settings: GenerationSettings(maxOutputTokens: 16),
                                                                        as: identity, startHere: true)
            trips.append(DatabaseRoundTrips.count - before)
        }
        XCTAssertLessThanOrEqual(try XCTUnwrap(trips.min()), 2, "the read and the admission: \(trips)")
        let first = try XCTUnwrap(record?.firstAttempt)
        XCTAssertEqual(first.provider, .openai)
        XCTAssertNil(first.skipReason)
        let key = try XCTUnwrap(first.key)
        XCTAssertEqual(key.sealed.userID, userID)
        XCTAssertEqual(try openaiKeyLastUsed(), 1, "marked used by admission")
        XCTAssertEqual(try openaiBuckets(), 1, "the rate token was taken")
        let opened = try server.environment.vault.decryptedKey(admitted: key, userID: userID, claimsJSON: claims)
        XCTAssertEqual(opened.plaintext, openaiKey)
    }

    func testAnOpenCircuitAtAdmissionSkipsTheFirstAttemptWithoutATokenOrAKey() throws {
        try health(reopenIn: 3600)
        let first = try XCTUnwrap(try admit()?.firstAttempt)
        XCTAssertEqual(first.skipReason, "circuit_open")
        XCTAssertNil(first.key)
        XCTAssertEqual(try openaiBuckets(), 0)
        XCTAssertEqual(try openaiKeyLastUsed(), 0)
    }

    func testAnEmptyBucketAtAdmissionSkipsTheFirstAttempt() throws {
        let stored = try server.send("PUT", "/v1/provider-configs/openai", ["requests_per_minute": 1], token: token, headers: ["If-Match": "\"v0\""])
        XCTAssertEqual(stored.status, 200, stored.text)
        XCTAssertNil(try admit()?.firstAttempt?.skipReason, "the bucket's one token")
        let second = try XCTUnwrap(try admit()?.firstAttempt)
        XCTAssertEqual(second.skipReason, "rate_limited")
        XCTAssertNil(second.key)
    }

    func testAHalfOpenCircuitLetsExactlyOneAdmissionTakeTheTrial() throws {
        try health(reopenIn: -1)
        XCTAssertNil(try admit()?.firstAttempt?.skipReason, "the trial")
        XCTAssertEqual(try number("select count(*) as n from public.provider_health where provider = 'openai' and reopen_at > now() + interval '20 seconds'"),
                       1, "the trial holds the circuit for the cooldown")
        XCTAssertEqual(try admit()?.firstAttempt?.skipReason, "circuit_open", "no second trial")
    }

    func testARefusedAdmissionClearsNothing() throws {
        XCTAssertNil(try admit(estimate: "6"), "over the project's 5")
        XCTAssertEqual(try openaiBuckets(), 0)
        XCTAssertEqual(try openaiKeyLastUsed(), 0)
    }

    func testTheRunnerSkipsAFirstAttemptAdmissionSkippedAndTheFallbackServes() async throws {
        try health(reopenIn: 3600)
        let record = try XCTUnwrap(try admit())
        XCTAssertEqual(record.firstAttempt?.skipReason, "circuit_open")
        let step = try await server.environment.generations.executor.runner.step(record.id, userID: userID, claimsJSON: claims, admitted: record)
        XCTAssertEqual(step, .finished(.succeeded))
        let counters = try HTTPTestConnection(port: fake?.port ?? 0).request("GET", "/_fake/counters").json()
        let openai = ((counters["providers"] as? [String: Any])?["openai"] as? [String: Any])?["total"] as? Int ?? 0
        XCTAssertEqual(openai, 0, "openai was not called")
        let events = try owner().query("""
            select type || ' ' || coalesce(payload->>'reason', '') as line from public.generation_events where generation_id = \(record.id) order by id
            """).map { try $0.decode("line", as: String.self) }
        XCTAssertTrue(events.contains("skipped circuit_open"), "\(events)")
        XCTAssertEqual(try owner().query("select provider from public.generations where id = \(record.id)").first?.decode("provider", as: String.self),
                       "anthropic")
    }

    func testAnAdmittedKeyThatDoesNotOpenIsNotRecordedAsUsed() throws {
        let record = try XCTUnwrap(try admit())
        let key = try XCTUnwrap(record.firstAttempt?.key)
        XCTAssertEqual(try openaiKeyLastUsed(), 1)
        // The stored ciphertext no longer opens (as one copied from another row would not).
        _ = try owner().query("update public.user_api_keys set ciphertext = '\\x00'::bytea where provider = 'openai'")
        let broken = AdmittedKey(sealed: SealedApiKey(id: key.sealed.id, userID: userID, provider: .openai, ciphertext: Data([0])),
                                 previousLastUsedAt: key.previousLastUsedAt, markedAt: key.markedAt)
        XCTAssertThrowsError(try server.environment.vault.decryptedKey(admitted: broken, userID: userID, claimsJSON: claims)) { error in
            XCTAssertEqual(error as? KeyVaultError, .unopenable(keyID: key.sealed.id))
        }
        XCTAssertEqual(try openaiKeyLastUsed(), 0, "its last_used_at is given back")
    }
}

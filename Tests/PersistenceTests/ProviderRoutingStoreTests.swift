import Domain
import Foundation
import Persistence
import Synchronization
import TestSupport
import XCTest

/// Migration 020's stores: configurations with versions, health upserts equal to the Domain
/// transitions, and rate buckets shared by every process.
final class ProviderRoutingStoreTests: XCTestCase {
    private var url = ""
    private var admin: PostgresConnection!
    private var pool: ConnectionPool!
    private let alice = UUID()
    private let bob = UUID()

    override func setUpWithError() throws {
        url = try TestPostgresCluster.shared.createDatabase(prefix: "routing")
        admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        pool = ConnectionPool(.init(url: authenticatorURL, maximumConnections: 2))
        for user in [alice, bob] {
            try admin.query("insert into auth.users (id, email) values (\(user), \(user.uuidString.lowercased() + "@example.com"))")
        }
    }

    override func tearDown() {
        pool.close()
    }

    private var authenticatorURL: String { url.replacingOccurrences(of: "postgres@", with: "authenticator@") }

    private func claims(_ user: UUID) -> String {
        #"{"sub":"\#(user.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#
    }

    private func identity(_ user: UUID) -> AuthenticatedIdentity {
        AuthenticatedIdentity(userID: user, sessionID: nil, role: "authenticated", claimsJSON: claims(user))
    }

    func testConfigsAreStoredPerUserWithAVersionThatIfMatchChecks() throws {
        let store = PostgresProviderConfigStore(pool: pool)
        let settings = ProviderConfigSettings(enabled: false, priority: 7, requestsPerMinute: 60, monthlyBudget: try Money(parsing: "12.5"),
                                              defaultModels: [.text: "gpt-4o-mini"])
        let created = try XCTUnwrap(try store.put(.openai, settings, expectedVersion: nil, as: identity(alice)))
        XCTAssertEqual(created.version, 1)
        XCTAssertEqual(created.enabled, false)
        XCTAssertEqual(created.priority, 7)
        XCTAssertEqual(created.requestsPerMinute, 60)
        XCTAssertEqual(created.monthlyBudget, try Money(parsing: "12.5"))
        XCTAssertEqual(created.defaultModels, [.text: "gpt-4o-mini"])

        XCTAssertNil(try store.put(.openai, ProviderConfigSettings(), expectedVersion: 0, as: identity(alice)), "0 means: none stored yet")
        XCTAssertNil(try store.put(.openai, ProviderConfigSettings(), expectedVersion: 5, as: identity(alice)), "a stale version")
        let replaced = try XCTUnwrap(try store.put(.openai, ProviderConfigSettings(), expectedVersion: 1, as: identity(alice)))
        XCTAssertEqual(replaced.version, 2)
        XCTAssertEqual(replaced.requestsPerMinute, nil)
        XCTAssertEqual(replaced.defaultModels, [:])
        let upserted = try XCTUnwrap(try store.put(.openai, settings, expectedVersion: nil, as: identity(alice)))
        XCTAssertEqual(upserted.version, 3)

        XCTAssertEqual(try store.configs(as: identity(alice)).map(\.provider), [.openai])
        XCTAssertEqual(try store.configs(as: identity(bob)), [], "Bob sees none of Alice's")
        XCTAssertNil(try store.put(.openai, settings, expectedVersion: 3, as: identity(bob)), "nor can he write hers")
        XCTAssertEqual(try store.configs(as: identity(alice)).first?.version, 3)
    }

    func testEveryRecordedOutcomeLeavesTheRowTheDomainTransitionGives() throws {
        let policy = HealthPolicy(failureThreshold: 3, cooldown: 30, latencyWeight: 0.25)
        let store = PostgresProviderHealthStore(pool: pool, policy: policy)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        // (seconds after start, outcome): a streak opens the circuit, failures while open keep the
        // reopen time, a failed half-open trial reopens it, a success closes it, non-retryable
        // failures leave circuit and streak alone.
        let steps: [(TimeInterval, AttemptOutcome)] = [
            (0, .success(latency: 0.2)), (1, .success(latency: 0.6)), (2, .failure(code: "timeout", retryable: true)),
            (3, .failure(code: "bad_request", retryable: false)), (4, .failure(code: "provider_down", retryable: true)),
            (5, .failure(code: "rate_limited", retryable: true)), (10, .failure(code: "timeout", retryable: true)),
            (40, .failure(code: "network_error", retryable: true)), (80, .success(latency: 1.0)),
            (81, .failure(code: "content_refused", retryable: false)), (82, .success(latency: 0.1)),
        ]
        var expected = ProviderHealthState.unknown
        var circuits: [CircuitState] = []
        for (offset, outcome) in steps {
            let at = start.addingTimeInterval(offset)
            expected = expected.recording(outcome, at: at, policy: policy)
            let stored = try store.record(outcome, provider: .anthropic, at: at, claimsJSON: claims(alice))
            XCTAssertEqual(stored.consecutiveFailures, expected.consecutiveFailures, "after +\(offset)s")
            XCTAssertEqual(stored.reopenAt, expected.reopenAt, "after +\(offset)s")
            XCTAssertEqual(stored.lastErrorCode, expected.lastErrorCode, "after +\(offset)s")
            XCTAssertEqual(stored.lastErrorAt, expected.lastErrorAt, "after +\(offset)s")
            XCTAssertEqual(stored.lastSuccessAt, expected.lastSuccessAt, "after +\(offset)s")
            XCTAssertEqual(try XCTUnwrap(stored.latencyMilliseconds), try XCTUnwrap(expected.latencyMilliseconds), accuracy: 1e-9)
            circuits.append(stored.circuit(at: at))
        }
        XCTAssertEqual(circuits, [.closed, .closed, .closed, .closed, .closed, .open, .open, .open, .closed, .closed, .closed])
        XCTAssertEqual(try store.health(claimsJSON: claims(alice)).keys.sorted { $0.rawValue < $1.rawValue }, [.anthropic])
        XCTAssertEqual(try store.health(claimsJSON: claims(bob)), [:])
    }

    func testConcurrentFailuresFromManyConnectionsAreAllCounted() throws {
        let wide = ConnectionPool(.init(url: authenticatorURL, maximumConnections: 8))
        defer { wide.close() }
        let store = PostgresProviderHealthStore(pool: wide, policy: HealthPolicy(failureThreshold: 1000, cooldown: 30, latencyWeight: 0.2))
        let failures = Mutex<[String]>([])
        let claimsText = claims(alice)
        DispatchQueue.concurrentPerform(iterations: 50) { _ in
            do {
                _ = try store.record(.failure(code: "timeout", retryable: true), provider: .fal, at: Date(), claimsJSON: claimsText)
            } catch {
                failures.withLock { $0.append(String(reflecting: error)) }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(try store.health(claimsJSON: claims(alice))[.fal]?.consecutiveFailures, 50, "no update lost")
    }

    func testExactlyOneOfManyConcurrentCallersGetsTheHalfOpenTrial() throws {
        let policy = HealthPolicy(failureThreshold: 1, cooldown: 30, latencyWeight: 0.2)
        let wide = ConnectionPool(.init(url: authenticatorURL, maximumConnections: 8))
        defer { wide.close() }
        let store = PostgresProviderHealthStore(pool: wide, policy: policy)
        let opened = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try store.record(.failure(code: "timeout", retryable: true), provider: .runway, at: opened, claimsJSON: claims(alice))
        XCTAssertFalse(try store.claimTrial(provider: .runway, at: opened.addingTimeInterval(10), claimsJSON: claims(alice)), "still open")
        let later = opened.addingTimeInterval(31)
        let claimsText = claims(alice)
        let winners = Mutex(0)
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 20) { _ in
            do {
                if try store.claimTrial(provider: .runway, at: later, claimsJSON: claimsText) { winners.withLock { $0 += 1 } }
            } catch {
                failures.withLock { $0.append(String(reflecting: error)) }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(winners.withLock { $0 }, 1)
        let state = try XCTUnwrap(try store.health(claimsJSON: claims(alice))[.runway])
        XCTAssertEqual(state.circuit(at: later), .open, "held open while the trial runs")
        XCTAssertFalse(try store.claimTrial(provider: .fal, at: later, claimsJSON: claims(alice)), "no row: closed, no trial")
    }

    func testTwoProcessesDrawFromOneBucket() throws {
        // Two pools stand for two processes: 6 requests per minute admit 6 in total, not 6 each.
        let first = PostgresRateLimitStore(pool: pool)
        let secondPool = ConnectionPool(.init(url: authenticatorURL, maximumConnections: 2))
        defer { secondPool.close() }
        let second = PostgresRateLimitStore(pool: secondPool)
        let now = Date()
        var granted = 0
        var refusals: [Date] = []
        for index in 0..<10 {
            switch try (index % 2 == 0 ? first : second).acquire(provider: .openai, requestsPerMinute: 6, at: now, claimsJSON: claims(alice)) {
            case .granted: granted += 1
            case .refused(let retryAt): refusals.append(retryAt)
            }
        }
        XCTAssertEqual(granted, 6)
        XCTAssertEqual(refusals.count, 4)
        XCTAssertEqual(refusals.first.map { $0.timeIntervalSince(now) } ?? 0, 10, accuracy: 0.01, "one token every 10 s")
        // Ten seconds later one more is there.
        if case .refused = try second.acquire(provider: .openai, requestsPerMinute: 6, at: now.addingTimeInterval(10), claimsJSON: claims(alice)) {
            XCTFail("the bucket refills at rpm/60 per second")
        }
        // Bob's bucket is his own.
        if case .refused = try first.acquire(provider: .openai, requestsPerMinute: 6, at: now, claimsJSON: claims(bob)) {
            XCTFail("buckets are per user")
        }
    }

    func testWhatTheProviderSaysTightensTheBucket() throws {
        let store = PostgresRateLimitStore(pool: pool)
        // Whole seconds: timestamps come back from the database at microsecond precision.
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        // No configured rate: only the provider's word counts. retry-after 20 s blocks until then.
        try store.observe(RateLimitObservation(retryAt: now.addingTimeInterval(20)), provider: .anthropic, requestsPerMinute: nil,
                          at: now, claimsJSON: claims(alice))
        XCTAssertEqual(try store.acquire(provider: .anthropic, requestsPerMinute: nil, at: now.addingTimeInterval(5), claimsJSON: claims(alice)),
                       .refused(retryAt: now.addingTimeInterval(20)))
        if case .refused = try store.acquire(provider: .anthropic, requestsPerMinute: nil, at: now.addingTimeInterval(20), claimsJSON: claims(alice)) {
            XCTFail("the block ends at the provider's time")
        }
        // With 600 rpm, "2 remaining" leaves two requests however full our own bucket was.
        try store.observe(RateLimitObservation(remainingRequests: 2), provider: .openai, requestsPerMinute: 600, at: now, claimsJSON: claims(alice))
        var granted = 0
        for _ in 0..<5 {
            if case .granted = try store.acquire(provider: .openai, requestsPerMinute: 600, at: now, claimsJSON: claims(alice)) { granted += 1 }
        }
        XCTAssertEqual(granted, 2)
        let domain = TokenBucket.fresh(requestsPerMinute: 600, at: now).observing(RateLimitObservation(remainingRequests: 2), at: now,
                                                                                 requestsPerMinute: 600)
        XCTAssertEqual(domain.tokens, 2, "the Domain bucket agrees")
        XCTAssertEqual(try store.buckets(claimsJSON: claims(alice)).keys.count, 2)
    }

    /// The version (transaction id and place) of Alice's openai bucket row: unchanged means unwritten.
    private func bucketVersion() throws -> String? {
        try admin.query("""
            select xmin::text || ' ' || ctid::text as v from public.provider_rate_limits where user_id = \(alice) and provider = 'openai'
            """).first?.decode("v", as: String.self)
    }

    /// Migration 174: without a configured rate a take only reads the bucket: the first one creates the
    /// row, later ones leave that very row version in place (no write, no row lock), and a block still refuses.
    func testATakeWithoutAConfiguredRateLeavesTheBucketRowAsItIs() throws {
        let store = PostgresRateLimitStore(pool: pool)
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        XCTAssertNil(try bucketVersion())
        guard case .granted = try store.acquire(provider: .openai, requestsPerMinute: nil, at: now, claimsJSON: claims(alice)) else {
            return XCTFail("no rate, no block: granted")
        }
        let created = try XCTUnwrap(try bucketVersion(), "the first take creates the bucket")
        for second in 1...3 {
            guard case .granted = try store.acquire(provider: .openai, requestsPerMinute: nil, at: now.addingTimeInterval(Double(second)),
                                                    claimsJSON: claims(alice)) else { return XCTFail("granted") }
        }
        XCTAssertEqual(try bucketVersion(), created, "takes without a rate wrote nothing")
        try store.observe(RateLimitObservation(retryAt: now.addingTimeInterval(30)), provider: .openai, requestsPerMinute: nil,
                          at: now, claimsJSON: claims(alice))
        XCTAssertEqual(try store.acquire(provider: .openai, requestsPerMinute: nil, at: now.addingTimeInterval(10), claimsJSON: claims(alice)),
                       .refused(retryAt: now.addingTimeInterval(30)))
    }

    /// Migration 179: without a configured rate, an answer's rate headers change nothing unless they
    /// block for longer, so they write nothing; a later block is still kept, an earlier one is not.
    func testAnObservationWithoutAConfiguredRateWritesOnlyALaterBlock() throws {
        let store = PostgresRateLimitStore(pool: pool)
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        try store.observe(RateLimitObservation(remainingRequests: 499), provider: .openai, requestsPerMinute: nil, at: now,
                          claimsJSON: claims(alice))
        let created = try XCTUnwrap(try bucketVersion(), "the first observation creates the bucket")
        for second in 1...3 {
            try store.observe(RateLimitObservation(remainingRequests: 499 - second), provider: .openai, requestsPerMinute: nil,
                              at: now.addingTimeInterval(Double(second)), claimsJSON: claims(alice))
        }
        XCTAssertEqual(try bucketVersion(), created, "remaining requests without a rate wrote nothing")

        try store.observe(RateLimitObservation(retryAt: now.addingTimeInterval(30)), provider: .openai, requestsPerMinute: nil,
                          at: now.addingTimeInterval(4), claimsJSON: claims(alice))
        let blocked = try XCTUnwrap(try bucketVersion())
        XCTAssertNotEqual(blocked, created, "a block is written")
        try store.observe(RateLimitObservation(retryAt: now.addingTimeInterval(20)), provider: .openai, requestsPerMinute: nil,
                          at: now.addingTimeInterval(5), claimsJSON: claims(alice))
        XCTAssertEqual(try bucketVersion(), blocked, "an earlier block than the stored one changes nothing")
        XCTAssertEqual(try store.acquire(provider: .openai, requestsPerMinute: nil, at: now.addingTimeInterval(25), claimsJSON: claims(alice)),
                       .refused(retryAt: now.addingTimeInterval(30)))

        // With a rate, an observation still refills and spends: the row moves.
        try store.observe(RateLimitObservation(remainingRequests: 10), provider: .openai, requestsPerMinute: 60,
                          at: now.addingTimeInterval(6), claimsJSON: claims(alice))
        XCTAssertNotEqual(try bucketVersion(), blocked, "with a rate the bucket is written")
    }
}

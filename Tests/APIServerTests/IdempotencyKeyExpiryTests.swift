@testable import APIServer
import Foundation
import Persistence
import TestSupport
import XCTest

/// Idempotency keys are kept a day, then the workers' sweep deletes them (before it, none ever was).
final class IdempotencyKeyExpiryTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server?.stop()
    }

    func testTheSweepDeletesKeysOlderThanADayAndKeepsYoungerOnes() throws {
        let user = try server.signUp("keys-expire@example.com").userID
        let admin = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
        try admin.query("""
            insert into public.idempotency_keys (user_id, key, request_hash, response_status, response_body, created_at)
            select \(user)::uuid, 'old-' || i, 'h', 202, '{}', now() - interval '25 hours' from generate_series(1, 1500) i
            union all
            select \(user)::uuid, 'young-' || i, 'h', 202, '{}', now() - interval '23 hours' from generate_series(1, 3) i
            """)
        let deleted = server.environment.generations.worker.deleteExpiredIdempotencyKeys()
        XCTAssertEqual(deleted, 1500, "every key past a day, over two statements")
        let left = try admin.query("select key from public.idempotency_keys where user_id = \(user)::uuid order by key").map {
            try $0.decode("key", as: String.self)
        }
        XCTAssertEqual(left, ["young-1", "young-2", "young-3"])
        XCTAssertEqual(server.environment.generations.worker.deleteExpiredIdempotencyKeys(), 0)
    }
}

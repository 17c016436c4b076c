@testable import APIServer
import Foundation
import Persistence
import TestSupport
import XCTest

final class ReadinessTests: XCTestCase {
    func testReadyWhenMigratedAndNotReadyWhilePending() throws {
        let cluster = try TestPostgresCluster.shared
        let url = try cluster.createDatabase(prefix: "ready")
        // The owner connects here, because the login role does not exist before the first migration.
        let server = try TestServer(environment: ["DATABASE_URL": url, "MIGRATION_DATABASE_URL": url], migrate: false)
        defer { server.stop() }
        let connection = try server.connect()
        let pending = try connection.request("GET", "/readyz")
        XCTAssertEqual(pending.status, 503)
        XCTAssertEqual(try pending.json()["code"] as? String, "not_ready")
        XCTAssertTrue((try pending.json()["detail"] as? String)?.contains("pending") == true)

        try server.environment.migrations.migrate(using: try PostgresConnection(url: url))
        let ready = try connection.request("GET", "/readyz")
        XCTAssertEqual(ready.status, 200)
        XCTAssertEqual(try ready.json()["migrations_pending"] as? Int, 0)
        XCTAssertEqual(try connection.request("GET", "/healthz").status, 200)
    }

    func testNotReadyWhenTheDatabaseIsUnreachableButStillLive() throws {
        let port = try freeLoopbackPort()
        let server = try TestServer(environment: ["DATABASE_URL": "postgresql://postgres@127.0.0.1:\(port)/none"], migrate: false)
        defer { server.stop() }
        let connection = try server.connect()
        let response = try connection.request("GET", "/readyz")
        XCTAssertEqual(response.status, 503)
        XCTAssertEqual(try response.json()["code"] as? String, "not_ready")
        XCTAssertEqual(response.header("retry-after"), "1")
        XCTAssertEqual(try connection.request("GET", "/healthz").status, 200, "liveness does not depend on the database")
    }
}

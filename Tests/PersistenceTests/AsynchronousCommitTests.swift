import Foundation
import Persistence
import TestSupport
import XCTest

/// `ConnectionPool.asynchronousCommit` relaxes one transaction's COMMIT only: the admission and the
/// finish rely on the transaction after it in the same pipeline committing synchronously (its
/// flush makes the earlier one durable too).
final class AsynchronousCommitTests: XCTestCase {
    func testOnlyTheTransactionThatAsksCommitsWithoutWaitingForTheDisk() throws {
        let url = try TestPostgresCluster.shared.createDatabase(prefix: "commits")
        let admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        // The test cluster commits asynchronously everywhere, for speed; this database as deployed.
        let database = try admin.query("select current_database() as name")[0].decode("name", as: String.self)
        try admin.executeScript(SQL(unsafeRaw: "alter database \"\(database)\" set synchronous_commit = on"))
        let pool = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 1))
        defer { pool.close() }
        let claims = #"{"sub":"\#(UUID().uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#
        let setting: SQL = "select current_setting('synchronous_commit') as value"
        let outcome = try pool.userScopeTransactions(claimsJSON: claims, [[ConnectionPool.asynchronousCommit, setting], [setting]])
        XCTAssertNil(outcome.failure.map { "\($0.error)" })
        let values = try outcome.committed.map { try $0.last?.first?.decode("value", as: String.self) }
        XCTAssertEqual(values, ["off", "on"], "the setting is local to the transaction that sets it")
        let after = try pool.userScopeStatement(claimsJSON: claims, setting)
        XCTAssertEqual(try after.first?.decode("value", as: String.self), "on", "nothing is left on the pooled connection")
    }
}

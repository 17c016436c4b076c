import Foundation
import Persistence
import TestSupport
import XCTest

/// BEGIN and the scope's setup travel with the transaction's first statement (one round trip);
/// these pin that the transaction is still exactly what it was when they ran one by one.
final class TransactionOpeningTests: XCTestCase {
    private func pool(maximumConnections: Int = 1) throws -> ConnectionPool {
        ConnectionPool(.init(url: try TestPostgresCluster.shared.createDatabase(), maximumConnections: maximumConnections))
    }

    func testEveryStatementRunsInsideTheOpenedTransactionWithTheSetupApplied() throws {
        let pool = try pool()
        defer { pool.close() }
        let (first, second, readOnly, setting) = try pool.withTransaction(readOnly: true, setup: "select set_config('app.marker', \("set up"), true)") { transaction in
            let first = try transaction.query("select txid_current() as id")[0].decode("id", as: Int64.self)
            let second = try transaction.query("select txid_current() as id")[0].decode("id", as: Int64.self)
            let readOnly = try transaction.query("select current_setting('transaction_read_only') as ro")[0].decode("ro", as: String.self)
            let setting = try transaction.query("select current_setting('app.marker', true) as v")[0].decode("v", as: String.self)
            return (first, second, readOnly, setting)
        }
        XCTAssertEqual(first, second, "one transaction")
        XCTAssertEqual(readOnly, "on")
        XCTAssertEqual(setting, "set up")
        // The setup was local to the transaction.
        let after = try pool.withTransaction { try $0.query("select coalesce(current_setting('app.marker', true), '') as v")[0].decode("v", as: String.self) }
        XCTAssertEqual(after, "")
    }

    func testAReadOnlyTransactionRefusesAWriteInItsFirstStatement() throws {
        let pool = try pool()
        defer { pool.close() }
        try pool.withConnection { try $0.executeScript("create table notes (body text not null)") }
        XCTAssertThrowsError(try pool.withTransaction(readOnly: true) { try $0.query("insert into notes values (\("no"))") }) { error in
            XCTAssertEqual((error as? DatabaseError)?.step, .statement)
            XCTAssertEqual((error as? DatabaseError)?.sqlState, "25006")
        }
        XCTAssertEqual(pool.statistics, .init(inUse: 0, idle: 1, maximum: 1), "the connection went back clean")
    }

    func testAFailedSetupIsReportedEvenWhenTheBodySwallowsIt() throws {
        let pool = try pool()
        defer { pool.close() }
        var bodyResult: String?
        XCTAssertThrowsError(try pool.withTransaction(setup: "select 1 / 0") { transaction -> String in
            let first = (try? transaction.query("select 'first' as v")) == nil ? "failed" : "ran"
            let second = (try? transaction.query("select 'second' as v")) == nil ? "failed" : "ran"
            bodyResult = first + " " + second
            return bodyResult ?? ""
        }) { error in
            XCTAssertEqual((error as? DatabaseError)?.step, .statement)
            XCTAssertEqual((error as? DatabaseError)?.sqlState, "22012")
        }
        XCTAssertEqual(bodyResult, "failed failed", "no statement runs after the setup failed")
        XCTAssertEqual(pool.statistics, .init(inUse: 0, idle: 1, maximum: 1), "rolled back, the connection kept")
        XCTAssertEqual(try pool.withTransaction { try $0.query("select 2 as v")[0].decode("v", as: Int.self) }, 2)
    }

    func testTheFirstStatementsOwnFailureIsTheBodys() throws {
        let pool = try pool()
        defer { pool.close() }
        struct Mapped: Error {}
        XCTAssertThrowsError(try pool.withTransaction(setup: "select 1") { transaction in
            do {
                try transaction.query("select 1 / 0")
            } catch let error as DatabaseError where error.sqlState == "22012" {
                throw Mapped()
            }
        }) { XCTAssertTrue($0 is Mapped, "the body's error comes back unchanged: \($0)") }
        XCTAssertEqual(pool.statistics, .init(inUse: 0, idle: 1, maximum: 1))
        XCTAssertEqual(try pool.withTransaction { try $0.query("select 3 as v")[0].decode("v", as: Int.self) }, 3)
    }

    func testABodyWithoutStatementsNeedsNoDatabase() throws {
        let pool = try pool()
        defer { pool.close() }
        XCTAssertEqual(try pool.withTransaction(setup: "select 1 / 0") { _ in "nothing sent" }, "nothing sent")
        XCTAssertEqual(pool.statistics, .init(inUse: 0, idle: 1, maximum: 1))
    }

    // MARK: One read-only statement, the whole transaction in one round trip

    func testAReadOnlyStatementRunsInItsOwnReadOnlyTransactionWithTheSetupAndCommits() throws {
        let pool = try pool()
        defer { pool.close() }
        let rows = try pool.readOnlyStatement(setup: "select set_config('app.marker', \("set up"), true)", """
            select current_setting('transaction_read_only') as ro, current_setting('app.marker', true) as v
            """)
        XCTAssertEqual(try rows[0].decode("ro", as: String.self), "on")
        XCTAssertEqual(try rows[0].decode("v", as: String.self), "set up")
        // A connection returned inside a transaction would have been discarded, not kept idle.
        XCTAssertEqual(pool.statistics, .init(inUse: 0, idle: 1, maximum: 1), "committed, the connection kept")
        XCTAssertEqual(try pool.withConnection { try $0.query("select coalesce(current_setting('app.marker', true), '') as v")[0].decode("v", as: String.self) }, "",
                       "the setup was local to that transaction")
    }

    func testAReadOnlyStatementRefusesAWriteAndLeavesTheConnectionClean() throws {
        let pool = try pool()
        defer { pool.close() }
        try pool.withConnection { try $0.executeScript("create table notes (body text not null)") }
        XCTAssertThrowsError(try pool.readOnlyStatement(setup: "select 1", "insert into notes values (\("no")) returning body")) { error in
            XCTAssertEqual((error as? DatabaseError)?.step, .statement)
            XCTAssertEqual((error as? DatabaseError)?.sqlState, "25006")
        }
        XCTAssertEqual(pool.statistics, .init(inUse: 0, idle: 1, maximum: 1), "rolled back, the connection kept")
        XCTAssertEqual(try pool.withConnection { try $0.query("select count(*) as n from notes")[0].decode("n", as: Int.self) }, 0)
        XCTAssertEqual(try pool.readOnlyStatement(setup: "select 1", "select 4 as v")[0].decode("v", as: Int.self), 4)
    }

    func testAReadOnlyStatementReportsAFailedSetupAsTheSetups() throws {
        let pool = try pool()
        defer { pool.close() }
        XCTAssertThrowsError(try pool.readOnlyStatement(setup: "select 1 / 0", "select 5 as v")) { error in
            XCTAssertEqual((error as? DatabaseError)?.step, .statement)
            XCTAssertEqual((error as? DatabaseError)?.sqlState, "22012")
        }
        XCTAssertEqual(pool.statistics, .init(inUse: 0, idle: 1, maximum: 1), "rolled back, the connection kept")
        XCTAssertEqual(try pool.readOnlyStatement(setup: "select 1", "select 6 as v")[0].decode("v", as: Int.self), 6)
    }

    func testAReadOnlyStatementOnAConnectionThatDiedIsRetriedOnAFreshOne() throws {
        let url = try TestPostgresCluster.shared.createDatabase()
        let pool = ConnectionPool(.init(url: url, maximumConnections: 1))
        defer { pool.close() }
        let pid = try pool.withConnection { try $0.query("select pg_backend_pid() as pid")[0].decode("pid", as: Int.self) }
        try PostgresConnection(url: url).query("select pg_terminate_backend(\(pid))")
        let newPid = try pool.readOnlyStatement(setup: "select 1", "select pg_backend_pid() as pid")[0].decode("pid", as: Int.self)
        XCTAssertNotEqual(newPid, pid)
    }
}

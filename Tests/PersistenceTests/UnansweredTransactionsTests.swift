import Foundation
import Persistence
import TestSupport
import XCTest

/// `userScopeTransactions(claimsJSON:_:unanswered:)`: the call answers once its own transactions have
/// committed, the unanswered ones run after them on the server, and the connection's next use reads
/// their results first, so it is lent again clean whether they succeeded or failed.
final class UnansweredTransactionsTests: XCTestCase {
    private var admin: PostgresConnection!
    private var pool: ConnectionPool!
    private let claims = #"{"sub":"\#(UUID().lowercasedString)","role":"authenticated","aud":"authenticated"}"#

    override func setUpWithError() throws {
        let url = try TestPostgresCluster.shared.createDatabase(prefix: "unanswered")
        admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        try admin.executeScript("""
            create table public.tail_probe (id integer primary key, n integer not null);
            insert into public.tail_probe values (1, 0);
            grant select, update on public.tail_probe to authenticated;
            """)
        // One connection: the call after the tested one gets the connection that carries the tail.
        pool = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 1))
    }

    override func tearDown() {
        pool?.close()
    }

    private func count() throws -> Int {
        try pool.userScopeStatement(claimsJSON: claims, "select n from public.tail_probe where id = 1").first?.decode("n") ?? -1
    }

    func testTheCallAnswersWithoutWaitingForTheUnansweredTransactions() throws {
        // The probe row is locked, so the unanswered update waits (up to the scope's 8 s statement timeout).
        try admin.query("begin")
        try admin.query("select n from public.tail_probe where id = 1 for update")
        let started = Date()
        let outcome = try pool.userScopeTransactions(claimsJSON: claims, [["select 41 + 1 as answer"]],
                                                     unanswered: [["update public.tail_probe set n = n + 1 where id = 1"]])
        let waited = Date().timeIntervalSince(started)
        try admin.query("commit")
        XCTAssertNil(outcome.failure.map { "\($0.error)" })
        XCTAssertEqual(try outcome.committed.first?.first?.first?.decode("answer", as: Int.self), 42)
        XCTAssertEqual(outcome.committed.count, 1, "only the answered transactions are reported")
        XCTAssertLessThan(waited, 4, "answered while the unanswered update was still waiting for the row")
        XCTAssertEqual(try count(), 1, "the next use of the connection reads the update's commit first")
    }

    func testAFailedUnansweredTransactionIsDroppedAndLeavesTheConnectionClean() throws {
        let outcome = try pool.userScopeTransactions(claimsJSON: claims, [["update public.tail_probe set n = n + 10 where id = 1"]],
                                                     unanswered: [["update public.tail_probe set n = n + 100 where id = 1", "select 1 / 0"],
                                                                  ["update public.tail_probe set n = n + 1000 where id = 1"]])
        XCTAssertNil(outcome.failure.map { "\($0.error)" })
        XCTAssertEqual(try count(), 10, "the failed one rolled back and the one after it never ran; the answered one stands")
        let setting = try pool.userScopeStatement(claimsJSON: claims, "select current_setting('statement_timeout') as value")
        XCTAssertEqual(try setting.first?.decode("value", as: String.self), "8s", "the connection is lent again, in a fresh transaction")
    }

    func testAConnectionStillRunningUnansweredWorkIsLentAfterEveryOtherIdleOne() throws {
        let url = try TestPostgresCluster.shared.createDatabase(prefix: "unansweredpool")
        let owner = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: owner)
        try owner.executeScript("""
            create table public.tail_probe (id integer primary key, n integer not null);
            insert into public.tail_probe values (1, 0);
            grant select, update on public.tail_probe to authenticated;
            """)
        let two = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 2))
        defer { two.close() }
        // Two idle connections; the unanswered work then leaves the most recently returned one busy.
        try two.withConnection { _ in _ = try two.userScopeStatement(claimsJSON: claims, "select 1") }
        XCTAssertEqual(two.statistics.idle, 2)
        try owner.query("begin")
        try owner.query("select n from public.tail_probe where id = 1 for update")
        _ = try two.userScopeTransactions(claimsJSON: claims, [["select 1"]],
                                          unanswered: [["update public.tail_probe set n = n + 1 where id = 1"]])
        let started = Date()
        let read = try two.userScopeStatement(claimsJSON: claims, "select 7 as seven")
        let waited = Date().timeIntervalSince(started)
        try owner.query("commit")
        XCTAssertEqual(try read.first?.decode("seven", as: Int.self), 7)
        XCTAssertLessThan(waited, 4, "served by the other idle connection, not behind the update waiting for the row")
        XCTAssertEqual(two.statistics.inUse, 0)
    }

    func testAnAnsweredFailureIsReportedAndNothingAfterItRuns() throws {
        let outcome = try pool.userScopeTransactions(claimsJSON: claims, [["update public.tail_probe set n = n + 1 where id = 1"], ["select 1 / 0"]],
                                                     unanswered: [["update public.tail_probe set n = n + 100 where id = 1"]])
        XCTAssertEqual(outcome.failure?.transaction, 1)
        XCTAssertEqual(outcome.committed.count, 1)
        XCTAssertEqual(try count(), 1, "the first committed; the unanswered one after the failure was not run")
    }
}

import Foundation
@testable import Persistence
import TestSupport
import XCTest

final class ConnectionPoolTests: XCTestCase {
    func testTransactionCommitsOrRollsBack() throws {
        let pool = ConnectionPool(.init(url: try TestPostgresCluster.shared.createDatabase()))
        defer { pool.close() }
        try pool.withConnection { try $0.executeScript("create table notes (body text not null)") }
        try pool.withTransaction { try $0.query("insert into notes values (\("kept"))") }
        struct Abort: Error {}
        XCTAssertThrowsError(try pool.withTransaction { transaction in
            try transaction.query("insert into notes values (\("discarded"))")
            throw Abort()
        }) { XCTAssertTrue($0 is Abort, "the body's own error comes back unchanged") }
        let bodies = try pool.withTransaction(readOnly: true) { try $0.query("select body from notes") }
            .map { try $0.decode("body", as: String.self) }
        XCTAssertEqual(bodies, ["kept"])
    }

    func testFailedCommitNamesTheStep() throws {
        let pool = ConnectionPool(.init(url: try TestPostgresCluster.shared.createDatabase()))
        defer { pool.close() }
        try pool.withConnection {
            try $0.executeScript("""
                create table t (id int primary key);
                create table u (t_id int references t(id) deferrable initially deferred);
                """)
        }
        XCTAssertThrowsError(try pool.withTransaction { try $0.query("insert into u values (1)") }) { error in
            XCTAssertEqual((error as? DatabaseError)?.step, .commit)
            XCTAssertEqual((error as? DatabaseError)?.sqlState, "23503")
        }
        XCTAssertEqual(pool.statistics.inUse, 0)
    }

    func testWaitingForAFullPoolTimesOut() throws {
        let pool = ConnectionPool(.init(url: try TestPostgresCluster.shared.createDatabase(), maximumConnections: 1, acquireTimeout: 0.2))
        defer { pool.close() }
        try pool.withConnection { _ in
            let started = Date()
            XCTAssertThrowsError(try pool.withConnection { _ in }) { error in
                XCTAssertEqual((error as? DatabaseError)?.step, .acquire)
            }
            XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.19)
        }
        XCTAssertEqual(pool.statistics, .init(inUse: 0, idle: 1, maximum: 1))
    }

    /// The caller that gives a connection back and at once asks for one again is the likeliest to
    /// overtake a waiter (it holds the CPU while the waiter is still being woken): it queues instead.
    func testAReturnedConnectionGoesToTheOldestWaiterNotToACallerThatAsksLater() throws {
        let pool = ConnectionPool(.init(url: try TestPostgresCluster.shared.createDatabase(), maximumConnections: 1, acquireTimeout: 5))
        defer { pool.close() }
        let order = Served()
        let held = try pool.acquire()
        let waiterDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? pool.withConnection { _ in
                order.append("waiter")
                Thread.sleep(forTimeInterval: 0.05)
            }
            waiterDone.signal()
        }
        let deadline = Date().addingTimeInterval(5)
        while pool.waitingCount == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.001) }
        XCTAssertEqual(pool.waitingCount, 1)
        pool.release(held)
        try pool.withConnection { _ in order.append("later caller") }
        XCTAssertEqual(waiterDone.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(order.names, ["waiter", "later caller"])
        XCTAssertEqual(pool.waitingCount, 0)
        XCTAssertEqual(pool.statistics, .init(inUse: 0, idle: 1, maximum: 1))
    }

    /// Waiters that give up leave the queue: the next loan goes to one still waiting.
    func testAWaiterThatTimesOutLeavesTheQueue() throws {
        let pool = ConnectionPool(.init(url: try TestPostgresCluster.shared.createDatabase(), maximumConnections: 1, acquireTimeout: 0.1))
        defer { pool.close() }
        let held = try pool.acquire()
        XCTAssertThrowsError(try pool.acquire()) { XCTAssertEqual(($0 as? DatabaseError)?.step, .acquire) }
        XCTAssertEqual(pool.waitingCount, 0)
        pool.release(held)
        try pool.withConnection { _ in }
        XCTAssertEqual(pool.statistics, .init(inUse: 0, idle: 1, maximum: 1))
    }

    func testClosingThePoolReleasesItsWaitersAtOnce() throws {
        let pool = ConnectionPool(.init(url: try TestPostgresCluster.shared.createDatabase(), maximumConnections: 1, acquireTimeout: 30))
        let held = try pool.acquire()
        let outcome = Served()
        let waiterDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            do {
                _ = try pool.acquire()
                outcome.append("served")
            } catch {
                outcome.append((error as? DatabaseError)?.serverMessage ?? "\(error)")
            }
            waiterDone.signal()
        }
        let deadline = Date().addingTimeInterval(5)
        while pool.waitingCount == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.001) }
        XCTAssertEqual(pool.waitingCount, 1)
        pool.close()
        XCTAssertEqual(waiterDone.wait(timeout: .now() + 5), .success, "the waiter must not sit out its 30 s")
        XCTAssertEqual(outcome.names, ["connection pool is closed"])
        pool.release(held)
    }

    func testPoolNeverExceedsItsBoundUnderConcurrency() throws {
        let pool = ConnectionPool(.init(url: try TestPostgresCluster.shared.createDatabase(), maximumConnections: 3, acquireTimeout: 10))
        defer { pool.close() }
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 24) { _ in
            do {
                try pool.withTransaction { try $0.query("select pg_sleep(0.01)") }
            } catch {
                failures.increment()
            }
        }
        XCTAssertEqual(failures.value, 0)
        XCTAssertLessThanOrEqual(pool.statistics.idle, 3)
        let backends = try pool.withConnection {
            try $0.query("select count(*)::int as n from pg_stat_activity where datname = current_database()")
        }
        XCTAssertLessThanOrEqual(try backends[0].decode("n", as: Int.self), 3)
    }

    func testBrokenConnectionIsDiscardedAndReplaced() throws {
        let url = try TestPostgresCluster.shared.createDatabase()
        let pool = ConnectionPool(.init(url: url, maximumConnections: 1))
        defer { pool.close() }
        let pid = try pool.withConnection { try $0.query("select pg_backend_pid() as pid")[0].decode("pid", as: Int.self) }
        let admin = try PostgresConnection(url: url)
        try admin.query("select pg_terminate_backend(\(pid))")
        // BEGIN meets the dead connection; the transaction is retried once on a fresh one.
        let newPid = try pool.withTransaction { try $0.query("select pg_backend_pid() as pid")[0].decode("pid", as: Int.self) }
        XCTAssertNotEqual(newPid, pid)
    }

    /// A pipelined read sends without first looking whether its pooled connection is still open:
    /// a connection the server closed fails at BEGIN and the read runs again on a fresh one.
    func testPipelinedReadsSurviveAClosedPooledConnection() throws {
        let url = try TestPostgresCluster.shared.createDatabase()
        let pool = ConnectionPool(.init(url: url, maximumConnections: 1))
        defer { pool.close() }
        let admin = try PostgresConnection(url: url)
        var pids: Set<Int> = []
        for round in 0..<4 {
            let pid = try pool.oneRoundTrip(readOnly: true, setup: [], ["select pg_backend_pid() as pid"])[0][0].decode("pid", as: Int.self)
            XCTAssertFalse(pids.contains(pid), "round \(round) runs on a fresh connection")
            pids.insert(pid)
            // Closed by the server while idle in the pool, before and after it has sent its reason.
            try admin.query("select pg_terminate_backend(\(pid)), pg_sleep(\(round % 2 == 0 ? 0.05 : 0))")
        }
        XCTAssertEqual(pids.count, 4)
        XCTAssertEqual(pool.statistics.inUse, 0)
    }

    /// A write is sent again only when the server ended the connection before it ran anything: the
    /// first BEGIN's answer is the server's goodbye (57P01) or a broken connection.
    func testWritesSurviveAPooledConnectionTheServerClosed() throws {
        let url = try TestPostgresCluster.shared.createDatabase()
        let pool = ConnectionPool(.init(url: url, maximumConnections: 1))
        defer { pool.close() }
        let admin = try PostgresConnection(url: url)
        try admin.query("create table written (round int primary key)")
        var pids: Set<Int> = []
        for round in 0..<8 {
            let rows = try pool.oneRoundTrip(readOnly: false, setup: [],
                                             ["insert into written values (\(round))", "select pg_backend_pid() as pid"])
            let pid = try rows[1][0].decode("pid", as: Int.self)
            XCTAssertFalse(pids.contains(pid), "round \(round) runs on a fresh connection")
            pids.insert(pid)
            // Closed by the server while idle in the pool, before and after it has sent its reason.
            try admin.query("select pg_terminate_backend(\(pid)), pg_sleep(\(round % 2 == 0 ? 0.05 : 0))")
        }
        XCTAssertEqual(try admin.query("select count(*)::int as n from written")[0].decode("n", as: Int.self), 8, "each written once")
        XCTAssertEqual(pool.statistics.inUse, 0)
    }

    func testPoolRecoversAfterPostgresRestarts() throws {
        // A private cluster: restarting the shared one would disturb tests running beside this one.
        let cluster = try TestPostgresCluster()
        defer { cluster.remove() }
        let pool = ConnectionPool(.init(url: cluster.url(), maximumConnections: 4, acquireTimeout: 2, connectTimeoutSeconds: 2))
        defer { pool.close() }
        // Four loans at once, so four connections sit idle when the server goes away.
        try pool.withConnection { _ in try pool.withConnection { _ in try pool.withConnection { _ in try pool.withConnection { _ in } } } }
        XCTAssertEqual(pool.statistics.idle, 4)

        try cluster.stop()
        XCTAssertThrowsError(try pool.withTransaction { try $0.query("select 1") }) { error in
            XCTAssertEqual((error as? DatabaseError)?.isConnectionFailure, true)
        }
        try cluster.start()

        // Every stale connection is found and replaced; no request after the restart fails.
        for _ in 0..<8 {
            let one = try pool.withTransaction { try $0.query("select 1 as one")[0].decode("one", as: Int.self) }
            XCTAssertEqual(one, 1)
        }
        XCTAssertEqual(pool.statistics.inUse, 0)
    }
}

final class Served: @unchecked Sendable {
    private let lock = NSLock()
    private var served: [String] = []
    func append(_ name: String) { lock.lock(); served.append(name); lock.unlock() }
    var names: [String] { lock.lock(); defer { lock.unlock() }; return served }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// Migration 186: `app_ledger.end_group` reads the group's holds and decides its entries before it
/// locks the project's row, so that the row is held only while the figures are worked out and
/// written. What it decided is checked once it has the lock: a hold that changed meanwhile fails
/// the group (its ends then run one by one), and an end written meanwhile is seen.
final class GroupEndLockTests: XCTestCase {
    private var url = ""
    private var admin: PostgresConnection!
    private var pool: ConnectionPool!
    private var ledger: PostgresBudgetLedger!
    private let alice = UUID()

    override func setUpWithError() throws {
        url = try TestPostgresCluster.shared.createDatabase(prefix: "group_end_lock")
        admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        pool = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 2))
        ledger = PostgresBudgetLedger(pool: pool)
        try admin.query("insert into auth.users (id, email) values (\(alice), 'alice-group-end@example.com')")
    }

    override func tearDown() {
        pool.close()
    }

    private var claims: String {
        #"{"sub":"\#(alice.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#
    }

    /// A project of Alice's with two reservations (1 each) on it.
    private func reservedPair() throws -> (project: UUID, generations: [UUID]) {
        let project: UUID = try admin.query("""
            insert into public.projects (user_id, name, budget_limit, budget_period) values (\(alice), 'p', 10, 'total') returning id
            """)[0].decode("id")
        let generations = [UUID(), UUID()]
        for generation in generations {
            XCTAssertTrue(try ledger.reserve(project: project, generation: generation, amount: try Money(parsing: "1"), claimsJSON: claims).admitted)
        }
        return (project, generations)
    }

    /// Runs `end_group` on `generations` (charging 0.5 each) while another session holds the
    /// project's row: once the group waits for it, `meanwhile` runs in that session, which then
    /// commits. Returns the group's SQLSTATE, or nil when it ended them.
    private func endGroup(_ generations: [UUID], project: UUID, meanwhile: (PostgresConnection) throws -> Void) throws -> String? {
        let holder = try PostgresConnection(url: url)
        let watcher = try PostgresConnection(url: url)
        try holder.query("begin")
        try holder.query("select 1 from public.projects where id = \(project) for no key update")
        let state = LockedValue<String??>(nil)
        let done = DispatchSemaphore(value: 0)
        let pool = self.pool!
        let claims = self.claims
        Thread {
            do {
                try pool.withUserScope(claimsJSON: claims) { transaction in
                    _ = try transaction.query("""
                        select ordinal from app_ledger.end_group(\(generations.map { $0.uuidString.lowercased() })::uuid[],
                                                                 array_fill(0.5::numeric, array[\(generations.count)::int]),
                                                                 array_fill(null::text, array[\(generations.count)::int]))
                        """)
                }
                state.mutate { $0 = .some(nil) }
            } catch let error as DatabaseError {
                state.mutate { $0 = .some(error.sqlState ?? "no state") }
            } catch {
                state.mutate { $0 = .some("\(error)") }
            }
            done.signal()
        }.start()
        // Until the group waits for the row this session holds.
        let deadline = Date().addingTimeInterval(10)
        var waiting = false
        while !waiting && Date() < deadline {
            waiting = try watcher.query("""
                select count(*)::int as n from pg_stat_activity
                where wait_event_type = 'Lock' and query like '%end_group%' and pid <> pg_backend_pid()
                """)[0].decode("n", as: Int.self) > 0
            if !waiting { usleep(5_000) }
        }
        XCTAssertTrue(waiting, "the group never waited for the project's row")
        try meanwhile(holder)
        try holder.query("commit")
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        return state.value ?? "unfinished"
    }

    func testAHoldThatChangesWhileTheGroupWaitsForTheProjectFailsTheGroupWithASerializationError() throws {
        let (project, generations) = try reservedPair()
        // As an end of one generation's scope alone would write it.
        let state = try endGroup(generations, project: project) { holder in
            try holder.query("""
                insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
                values (\(self.alice), 'user', 'release', 1, \(generations[1]))
                """)
        }
        XCTAssertEqual(state, "40001", "decided on holds read before the lock, which changed before it was taken")
        XCTAssertEqual(try admin.query("""
            select count(*)::int as n from public.budget_ledger where generation_id = any(\(generations.map { $0.uuidString.lowercased() })::uuid[])
            """)[0].decode("n", as: Int.self), 2, "nothing of the group was written: the two reservations only")
    }

    func testAnEndWrittenWhileTheGroupWaitsForTheProjectIsSeenOnceItHasTheLock() throws {
        let (project, generations) = try reservedPair()
        let state = try endGroup(generations, project: project) { holder in
            try holder.query("""
                insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id)
                values (\(self.alice), \(project), 'release', 1, \(generations[0]))
                """)
        }
        XCTAssertEqual(state, "55000", "ended meanwhile: the group ends neither")
    }

    func testWithNothingChangedMeanwhileTheGroupEndsBothOnceTheLockIsFree() throws {
        let (project, generations) = try reservedPair()
        XCTAssertNil(try endGroup(generations, project: project) { _ in })
        let totals = try admin.query("""
            select spent_total::text || ' ' || reserved::text as t from public.project_budget_totals where project_id = \(project)
            """)[0]
        XCTAssertEqual(try totals.decode("t", as: String.self), "1.0 0")
    }

    /// The user's scope row last written in an earlier month: the group's first charge starts this
    /// month's figure afresh (its rows show it), and a group that charges nothing leaves the row's
    /// old month as it was, showing 0 spent this month.
    func testAScopeLastChargedInAnEarlierMonthStartsAfreshWithTheGroupsFirstCharge() throws {
        try admin.query("insert into public.user_budgets (user_id, monthly_limit) values (\(alice), 5)")
        let (project, generations) = try reservedPair()
        try admin.query("""
            update public.budget_scope_totals set spent = 3, period_start = date_trunc('month', now(), 'UTC') - interval '1 month'
            where user_id = \(alice) and scope = 'user'
            """)
        func end(_ ids: [UUID], costs: String) throws -> [String] {
            try pool.withUserScope(claimsJSON: claims) { transaction in
                try transaction.query("""
                    select ordinal, scope, spent::text || ' ' || reserved::text as f
                    from app_ledger.end_group(\(ids.map { $0.uuidString.lowercased() })::uuid[], \(costs)::numeric[],
                                              array_fill(null::text, array[\(ids.count)::int]))
                    where scope = 'user'
                    """).map { try $0.decode("f", as: String.self) }
            }
        }
        XCTAssertEqual(try end([generations[0]], costs: "{NULL}"), ["0 1"], "released: this month's figure, the old month's row kept")
        XCTAssertEqual(try admin.query("""
            select spent::text || ' ' || (period_start < date_trunc('month', now(), 'UTC'))::text as t
            from public.budget_scope_totals where user_id = \(alice) and scope = 'user'
            """)[0].decode("t", as: String.self), "3 true")
        XCTAssertEqual(try end([generations[1]], costs: "{0.25}"), ["0.25 0"], "charged: this month's figure starts at its charge")
        XCTAssertEqual(try admin.query("""
            select spent::text || ' ' || (period_start = date_trunc('month', now(), 'UTC'))::text as t
            from public.budget_scope_totals where user_id = \(alice) and scope = 'user'
            """)[0].decode("t", as: String.self), "0.25 true")
        _ = project
    }
}

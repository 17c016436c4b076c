import Domain
import Foundation
import Persistence
import Synchronization
import TestSupport
import XCTest

/// The ledger functions of migration 007 (app_ledger.reserve, settle, release): ownership, the
/// budget invariant under concurrency, and what settling and releasing do.
final class BudgetLedgerTests: XCTestCase {
    private var url = ""
    private var admin: PostgresConnection!
    private var pool: ConnectionPool!
    private var ledger: PostgresBudgetLedger!
    private let alice = UUID()
    private let bob = UUID()

    override func setUpWithError() throws {
        url = try TestPostgresCluster.shared.createDatabase(prefix: "ledger")
        admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        pool = ConnectionPool(.init(url: authenticatorURL, maximumConnections: 2))
        ledger = PostgresBudgetLedger(pool: pool)
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

    private func money(_ text: String) throws -> Money { try Money(parsing: text) }

    private func project(of user: UUID, limit: String?, period: String = "total") throws -> UUID {
        try admin.query("""
            insert into public.projects (user_id, name, budget_limit, budget_period) values (\(user), 'p', \(limit)::numeric, \(period)) returning id
            """)[0].decode("id", as: UUID.self)
    }

    private func entries(_ project: UUID) throws -> [String] {
        try admin.query("select kind || ' ' || amount::text as e from public.budget_ledger where project_id = \(project) order by created_at, kind")
            .map { try $0.decode("e", as: String.self) }
    }

    func testAnotherUsersProjectOrReservationIsRefused() throws {
        let alices = try project(of: alice, limit: "10")
        let generation = UUID()
        XCTAssertThrowsError(try ledger.reserve(project: alices, generation: generation, amount: try money("1"), claimsJSON: claims(bob))) {
            XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .notFound)
        }
        XCTAssertTrue(try ledger.reserve(project: alices, generation: generation, amount: try money("1"), claimsJSON: claims(alice)).admitted)
        XCTAssertThrowsError(try ledger.settle(generation: generation, cost: try money("0"), claimsJSON: claims(bob))) {
            XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .notFound)
        }
        XCTAssertThrowsError(try ledger.release(generation: generation, claimsJSON: claims(bob))) {
            XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .notFound)
        }
        XCTAssertThrowsError(try ledger.reserve(project: UUID(), generation: UUID(), amount: try money("1"), claimsJSON: claims(alice))) {
            XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .notFound, "an unknown project is refused the same way")
        }
        XCTAssertEqual(try entries(alices), ["reservation 1"], "nothing was written for Bob")
    }

    func testConcurrentReservesAdmitExactlyWhatTheLimitAllows() throws {
        // 10.00 admits 13 reservations of 0.75 (9.75); the 14th would make 10.50.
        let target = try project(of: alice, limit: "10.00")
        let attempts = 40
        let connections = try (0..<attempts).map { _ in try PostgresConnection(url: authenticatorURL) }
        let start = DispatchSemaphore(value: 0)
        let results = Mutex<[(admitted: Bool, reserved: Decimal)]>([])
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        let claims = claims(alice)
        for connection in connections {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                start.wait()
                do {
                    try connection.query("begin")
                    try connection.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', \(claims), true)")
                    let row = try connection.query("select admitted, reserved from app_ledger.reserve(\(target), \(UUID()), 0.75)")[0]
                    try connection.query("commit")
                    let outcome = (admitted: try row.decode("admitted", as: Bool.self), reserved: try row.decode("reserved", as: Decimal.self))
                    results.withLock { $0.append(outcome) }
                } catch {
                    failures.withLock { $0.append(String(reflecting: error)) }
                }
            }
        }
        for _ in 0..<attempts { start.signal() }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(failures.withLock { $0 }, [])
        let outcomes = results.withLock { $0 }
        XCTAssertEqual(outcomes.count, attempts)
        XCTAssertEqual(outcomes.filter(\.admitted).count, 13)
        XCTAssertTrue(outcomes.allSatisfy { $0.reserved <= 10 }, "no step ever saw more than the limit reserved: \(outcomes.map(\.reserved))")
        let total = try admin.query("select sum(amount)::text as s, count(*)::int as n from public.budget_ledger where project_id = \(target)")[0]
        XCTAssertEqual(try total.decode("s", as: String.self), "9.75")
        XCTAssertEqual(try total.decode("n", as: Int.self), 13)
    }

    /// Migration 140: a project's spent and reserved are a summary row the ledger's trigger keeps. After
    /// concurrent reservations, charges and releases on a monthly and a total project (with an entry
    /// from last month), the row must equal what the entries sum to, for either period.
    func testTheProjectSummaryRowEqualsItsEntriesAfterConcurrentSteps() throws {
        let monthly = try project(of: alice, limit: "100", period: "monthly")
        let total = try project(of: alice, limit: nil)
        for target in [monthly, total] {
            try admin.query("""
                insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id, created_at)
                values (\(alice), \(target), 'charge', 7.5, null, now() - interval '40 days')
                """)
        }
        let failures = Mutex<[String]>([])
        let claims = claims(alice)
        let ledger: PostgresBudgetLedger = ledger
        let quarter = try money("0.25"), cost = try money("0.1000000001")
        DispatchQueue.concurrentPerform(iterations: 24) { step in
            do {
                let generation = UUID()
                let target = step.isMultiple(of: 2) ? monthly : total
                guard try ledger.reserve(project: target, generation: generation, amount: quarter, claimsJSON: claims).admitted else {
                    failures.withLock { $0.append("step \(step) was refused") }
                    return
                }
                if step % 3 == 0 {
                    _ = try ledger.release(generation: generation, claimsJSON: claims)
                } else if step % 3 == 1 {
                    _ = try ledger.settle(generation: generation, cost: cost, claimsJSON: claims)
                }
            } catch {
                failures.withLock { $0.append(String(reflecting: error)) }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(try summaryMismatches([monthly, total]), [])
        // 12 steps per project: 4 released, 4 charged 0.1000000001, 4 still held.
        let figures = try admin.query("""
            select t.spent_total::text as total, t.spent_month::text as month, t.reserved::text as reserved
            from public.project_budget_totals t where t.project_id = \(monthly)
            """)[0]
        XCTAssertEqual(try figures.decode("total", as: String.self), "7.9000000004")
        XCTAssertEqual(try figures.decode("month", as: String.self), "0.4000000004")
        XCTAssertEqual(try figures.decode("reserved", as: String.self), "1.00")
    }

    /// Each project whose summary row differs from what its ledger entries sum to (or whose month is
    /// not this one), described; none when every row agrees.
    private func summaryMismatches(_ projects: [UUID]) throws -> [String] {
        try admin.query("""
            select p.budget_period || ': summary ' || t.spent_total::text || '/' || t.spent_month::text || '/' || t.reserved::text
                   || ' entries ' || s.spent_total::text || '/' || s.spent_month::text || '/' || s.reserved::text as problem
            from public.projects p
            join public.project_budget_totals t on t.project_id = p.id
            join lateral (
                select coalesce(sum(l.amount) filter (where l.kind = 'charge'), 0) as spent_total,
                       coalesce(sum(l.amount) filter (where l.kind = 'charge' and l.created_at >= date_trunc('month', now(), 'UTC')), 0)
                           as spent_month,
                       coalesce(sum(case l.kind when 'reservation' then l.amount when 'release' then -l.amount else 0 end), 0) as reserved
                from public.budget_ledger l where l.project_id = p.id
            ) s on true
            where p.id = any(\(projects.map { $0.uuidString.lowercased() })::uuid[])
              and (t.spent_total <> s.spent_total or t.spent_month <> s.spent_month or t.reserved <> s.reserved
                   or t.month_start <> date_trunc('month', now(), 'UTC'))
            """).map { try $0.decode("problem", as: String.self) }
    }

    /// Migration 185: the four functions that write ledger entries fold them into the summary row
    /// themselves (and mark them folded); the trigger folds only entries written otherwise. After a
    /// lone and a grouped reservation (one of the group refused by the limit), lone and grouped
    /// charges and releases and an administrator's entry from last month, on a monthly and a total
    /// project, each summary row equals its entries.
    func testEveryLedgerFunctionFoldsTheEntriesItWrites() throws {
        let monthly = try project(of: alice, limit: "3", period: "monthly")
        let total = try project(of: alice, limit: nil)
        let claims = claims(alice)
        for target in [monthly, total] {
            try admin.query("""
                insert into public.budget_ledger (user_id, project_id, kind, amount, created_at)
                values (\(alice), \(target), 'charge', 1.5, now() - interval '40 days')
                """)
            let lone = UUID()
            XCTAssertTrue(try ledger.reserve(project: target, generation: lone, amount: try money("0.5"), claimsJSON: claims).admitted)
            let group = [UUID(), UUID(), UUID(), UUID()]
            let admitted = try pool.withUserScope(claimsJSON: claims) { transaction -> [Bool] in
                try transaction.query("""
                    select ordinal, admitted from app_ledger.reserve_group(\(target), \(group.map { $0.uuidString.lowercased() })::uuid[],
                                                                         '{1, 1, 1.25, 0.25}'::numeric[], '{openai, anthropic, openai, null}'::text[])
                    where scope = 'project' order by ordinal
                    """).map { try $0.decode("admitted", as: Bool.self) }
            }
            // The monthly project's limit of 3 (last month's charge not counted) holds 0.5 + 1 + 1, not 1.25 more.
            XCTAssertEqual(admitted, target == monthly ? [true, true, false, true] : [true, true, true, true])
            _ = try ledger.settle(generation: lone, cost: try money("0.4000000001"), claimsJSON: claims)
            let ended = zip(group, admitted).filter(\.1).map(\.0)
            try pool.withUserScope(claimsJSON: claims) { transaction in
                _ = try transaction.query("""
                    select ordinal from app_ledger.end_group(\(ended.map { $0.uuidString.lowercased() })::uuid[],
                                                             array(select case when k = 1 then null else 0.75 end
                                                                   from generate_series(1, \(ended.count)::int) k)::numeric[],
                                                             array_fill(null::text, array[\(ended.count)::int]))
                    """)
            }
        }
        XCTAssertEqual(try summaryMismatches([monthly, total]), [])
        let marks = try admin.query("""
            select count(*) filter (where folded)::int as folded, count(*) filter (where not folded)::int as others
            from public.budget_ledger where project_id in (\(monthly), \(total))
            """)[0]
        // Per project: the lone reservation, release and charge; three or four grouped reservations
        // with a release each and a charge for all but the first.
        XCTAssertEqual(try marks.decode("folded", as: Int.self), (3 + 3 + 3 + 2) + (3 + 4 + 4 + 3))
        XCTAssertEqual(try marks.decode("others", as: Int.self), 2, "the administrator's entries, folded by the trigger")
        let figures = try admin.query("""
            select t.spent_total::text || ' ' || t.spent_month::text || ' ' || t.reserved::text as f
            from public.project_budget_totals t where t.project_id = \(monthly)
            """)[0]
        XCTAssertEqual(try figures.decode("f", as: String.self), "3.4000000001 1.9000000001 0.00")
    }

    /// Migration 173: the summary is folded once per statement. One statement's entries of two months
    /// and two projects (as only an administrator can write them: the ledger functions' entries all
    /// take the statement's time) fold as the same entries one by one would.
    func testOneStatementsEntriesFoldAsTheSameEntriesOneByOne() throws {
        let grouped = [try project(of: alice, limit: nil, period: "monthly"), try project(of: alice, limit: nil)]
        let single = [try project(of: alice, limit: nil, period: "monthly"), try project(of: alice, limit: nil)]
        let entries: [(kind: String, amount: String, age: String)] = [("charge", "2.5", "40 days"), ("charge", "1.25", "0 days"),
                                                                      ("reservation", "4", "0 days"), ("release", "1", "0 days"),
                                                                      ("charge", "0.5", "70 days")]
        try admin.query("""
            insert into public.budget_ledger (user_id, project_id, kind, amount, created_at)
            select \(alice), p, e.kind, e.amount, now() - e.age::interval
            from unnest(\(grouped.map { $0.uuidString.lowercased() })::uuid[]) p
            cross join unnest(\(entries.map(\.kind))::text[], \(entries.map(\.amount))::numeric[], \(entries.map(\.age))::text[]) e(kind, amount, age)
            """)
        for project in single {
            for entry in entries {
                try admin.query("""
                    insert into public.budget_ledger (user_id, project_id, kind, amount, created_at)
                    values (\(alice), \(project), \(entry.kind), \(entry.amount)::numeric, now() - \(entry.age)::interval)
                    """)
            }
        }
        let summary = { (project: UUID) throws -> String in
            try self.admin.query("""
                select t.spent_total::text || ' ' || t.spent_month::text || ' ' || t.month_start::text || ' ' || t.reserved::text as s
                from public.project_budget_totals t where t.project_id = \(project)
                """)[0].decode("s")
        }
        XCTAssertEqual(try grouped.map(summary), try single.map(summary))
        XCTAssertTrue(try summary(grouped[0]).hasPrefix("4.25 1.25 "), "this month's charge alone in the month's figure")
    }

    /// Migration 177: the rows of a project carry their user through the project's key alone. A row
    /// naming another user than its project's is refused, and deleting a user removes their ledger,
    /// summary, generations and assets with their projects.
    func testAProjectsRowsKeepTheirUserThroughTheProjectKey() throws {
        let target = try project(of: alice, limit: "10")
        XCTAssertTrue(try ledger.reserve(project: target, generation: UUID(), amount: try money("1"), claimsJSON: claims(alice)).admitted)
        let generation: UUID = try admin.query("""
            insert into public.generations (user_id, project_id, kind, prompt, status, estimate, pricing_version)
            values (\(alice), \(target), 'text', 'p', 'queued', 0, 'v1') returning id
            """)[0].decode("id")
        let sha = String(repeating: "c", count: 64)
        try admin.query("""
            insert into public.assets (user_id, project_id, generation_id, kind, content_type, bytes, sha256, storage_key)
            values (\(alice), \(target), \(generation), 'text', 'text/plain', 1, \(sha),
                    \("users/\(alice.uuidString.lowercased())/sha256/cc/cc/\(sha)"))
            """)
        for statement: SQL in [
            "insert into public.budget_ledger (user_id, project_id, kind, amount) values (\(bob), \(target), 'charge', 1)",
            """
            insert into public.generations (user_id, project_id, kind, prompt, status, estimate, pricing_version)
            values (\(bob), \(target), 'text', 'p', 'queued', 0, 'v1')
            """,
            "insert into public.budget_ledger (user_id, project_id, kind, amount) values (\(UUID()), \(target), 'charge', 1)",
        ] {
            XCTAssertThrowsError(try admin.query(statement)) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "23503") }
        }
        try admin.query("delete from auth.users where id = \(alice)")
        let left: Int = try admin.query("""
            select ((select count(*) from public.budget_ledger where user_id = \(alice))
                    + (select count(*) from public.project_budget_totals where user_id = \(alice))
                    + (select count(*) from public.generations where user_id = \(alice))
                    + (select count(*) from public.assets where user_id = \(alice)))::int as n
            """)[0].decode("n")
        XCTAssertEqual(left, 0)
    }

    func testSettleChargesTheCostAndEndsTheReservation() throws {
        let target = try project(of: alice, limit: "10")
        let generation = UUID()
        let reserved = try ledger.reserve(project: target, generation: generation, amount: try money("4"), claimsJSON: claims(alice))
        XCTAssertTrue(reserved.admitted)
        XCTAssertNotNil(reserved.outcome.entryID)
        XCTAssertEqual(reserved.outcome.reserved, try money("4"))
        XCTAssertEqual(reserved.outcome.spent, .zero)
        XCTAssertEqual(reserved.outcome.limit, try money("10"))

        // The actual cost may exceed the estimate: it is charged all the same.
        let settled = try ledger.settle(generation: generation, cost: try money("5.5000000001"), claimsJSON: claims(alice))
        XCTAssertEqual(settled.spent, try money("5.5000000001"))
        XCTAssertEqual(settled.reserved, .zero)
        let charge = try admin.query("select kind from public.budget_ledger where id = \(try XCTUnwrap(settled.entryID))")[0]
        XCTAssertEqual(try charge.decode("kind", as: String.self), "charge")
        XCTAssertEqual(try entries(target), ["reservation 4", "charge 5.5000000001", "release 4"])

        for attempt in [{ try self.ledger.settle(generation: generation, cost: try self.money("1"), claimsJSON: self.claims(self.alice)) },
                        { try self.ledger.release(generation: generation, claimsJSON: self.claims(self.alice)) }] {
            XCTAssertThrowsError(try attempt()) { XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .alreadyEnded) }
        }
        XCTAssertThrowsError(try ledger.settle(generation: UUID(), cost: try money("1"), claimsJSON: claims(alice))) {
            XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .notFound, "an unknown reservation")
        }
        // The store's summary agrees with what the functions said.
        let identity = AuthenticatedIdentity(userID: alice, sessionID: nil, role: "authenticated", claimsJSON: claims(alice))
        let summary = try XCTUnwrap(try PostgresProjectStore(pool: pool).project(id: target, as: identity)).budget
        XCTAssertEqual(summary.spent, settled.spent)
        XCTAssertEqual(summary.reserved, settled.reserved)
    }

    /// Migration 182: a lone charged end writes its release and charge in one statement, so the
    /// project's summary row is updated once, not once per entry (the same figures as before; the
    /// transaction's statistics count the upsert's attempted insert apart, as they did before).
    func testALoneChargedEndWritesTheProjectsSummaryRowOnce() throws {
        let target = try project(of: alice, limit: "10")
        let generation = UUID()
        XCTAssertTrue(try ledger.reserve(project: target, generation: generation, amount: try money("4"), claimsJSON: claims(alice)).admitted)
        let versions = try pool.withUserScope(claimsJSON: claims(alice)) { transaction -> Int in
            _ = try transaction.query("select entry_id from app_ledger.settle(\(generation), 1.25::numeric)")
            return try transaction.query("""
                select n_tup_upd::int as n from pg_stat_xact_user_tables where relid = 'public.project_budget_totals'::regclass
                """)[0].decode("n")
        }
        XCTAssertEqual(versions, 1)
        XCTAssertEqual(try entries(target), ["reservation 4", "charge 1.25", "release 4"])
        let summary = try admin.query("select spent_total::text as s, reserved::text as r from public.project_budget_totals where project_id = \(target)")[0]
        XCTAssertEqual(try summary.decode("s", as: String.self), "1.25")
        XCTAssertEqual(try summary.decode("r", as: String.self), "0")
    }

    func testReleaseEndsTheReservationWithoutACharge() throws {
        let target = try project(of: alice, limit: "5")
        let generation = UUID()
        XCTAssertTrue(try ledger.reserve(project: target, generation: generation, amount: try money("5"), claimsJSON: claims(alice)).admitted)
        let full = try ledger.reserve(project: target, generation: UUID(), amount: try money("0.0000000001"), claimsJSON: claims(alice))
        XCTAssertFalse(full.admitted, "the limit is fully reserved")
        XCTAssertNil(full.outcome.entryID)
        XCTAssertEqual(full.outcome.reserved, try money("5"))

        let released = try ledger.release(generation: generation, claimsJSON: claims(alice))
        XCTAssertEqual(released.reserved, .zero)
        XCTAssertEqual(released.spent, .zero)
        XCTAssertThrowsError(try ledger.release(generation: generation, claimsJSON: claims(alice))) {
            XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .alreadyEnded)
        }
        XCTAssertThrowsError(try ledger.reserve(project: target, generation: generation, amount: try money("1"), claimsJSON: claims(alice))) {
            XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .alreadyReserved, "one reservation per generation")
        }
        XCTAssertTrue(try ledger.reserve(project: target, generation: UUID(), amount: try money("5"), claimsJSON: claims(alice)).admitted,
                      "the released amount is available again")
    }

    func testMonthlyBudgetCountsThisMonthsChargesAndEveryHeldReservation() throws {
        let target = try project(of: alice, limit: "10", period: "monthly")
        // Last month's charge does not count; a reservation made last month and still held does.
        try admin.query("""
            insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id, created_at) values
                (\(alice), \(target), 'charge', 100, null, now() - interval '40 days'),
                (\(alice), \(target), 'reservation', 3, \(UUID()), now() - interval '40 days')
            """)
        let first = try ledger.reserve(project: target, generation: UUID(), amount: try money("7"), claimsJSON: claims(alice))
        XCTAssertTrue(first.admitted)
        XCTAssertEqual(first.outcome.spent, .zero)
        XCTAssertEqual(first.outcome.reserved, try money("10"))
        XCTAssertFalse(try ledger.reserve(project: target, generation: UUID(), amount: try money("0.01"), claimsJSON: claims(alice)).admitted)
    }

    func testBadAmountsAndAnonymousCallersAreRefused() throws {
        let target = try project(of: alice, limit: nil)
        XCTAssertThrowsError(try ledger.reserve(project: target, generation: UUID(), amount: try Money(parsing: "-1", allowNegative: true),
                                                claimsJSON: claims(alice))) {
            XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .invalidAmount)
        }
        XCTAssertTrue(try ledger.reserve(project: target, generation: UUID(), amount: try money("1000000"), claimsJSON: claims(alice)).admitted,
                      "no limit admits any amount")
        let client = try PostgresConnection(url: authenticatorURL)
        for role in ["anon", "authenticated"] {
            try client.query("begin")
            defer { _ = try? client.query("rollback") }
            // anon has no USAGE on app_ledger; authenticated without a user has no auth.uid().
            try client.query("select set_config('role', \(role), true), set_config('request.jwt.claims', \(#"{"role":"\#(role)"}"#), true)")
            XCTAssertThrowsError(try client.query("select * from app_ledger.reserve(\(target), \(UUID()), 1)")) {
                XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501", role)
            }
        }
    }

    func testAuthenticatedCannotWriteLedgerRowsDirectly() throws {
        let target = try project(of: alice, limit: "10")
        _ = try ledger.reserve(project: target, generation: UUID(), amount: try money("2"), claimsJSON: claims(alice))
        let statements: [SQL] = [
            "insert into public.budget_ledger (user_id, project_id, kind, amount) values (\(alice), \(target), 'release', 2)",
            "update public.budget_ledger set amount = 0",
            "delete from public.budget_ledger",
            "truncate public.budget_ledger",
            // Nor through the functions' own helpers, which only the functions' owner may run.
            "select * from app_ledger.end_reservation(\(UUID()), null)",
        ]
        for statement in statements {
            XCTAssertThrowsError(try pool.withUserScope(claimsJSON: claims(alice)) { try $0.query(statement) }) {
                XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501")
            }
        }
        XCTAssertEqual(try entries(target), ["reservation 2"])
    }
}

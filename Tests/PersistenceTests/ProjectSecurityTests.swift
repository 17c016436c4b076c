import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// The projects and budget ledger tables at the SQL level: RLS isolation, ownership of ledger
/// entries, and budget summaries computed from the ledger by the store.
final class ProjectSecurityTests: XCTestCase {
    private var admin: PostgresConnection!
    private var pool: ConnectionPool!
    private let alice = UUID()
    private let bob = UUID()

    override func setUpWithError() throws {
        let adminURL = try TestPostgresCluster.shared.createDatabase(prefix: "proj")
        admin = try PostgresConnection(url: adminURL)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        pool = ConnectionPool(.init(url: adminURL.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 1))
        for user in [alice, bob] {
            try admin.query("insert into auth.users (id, aud, role, email) values (\(user), 'authenticated', 'authenticated', \(user.uuidString.lowercased() + "@example.com"))")
        }
    }

    override func tearDown() {
        pool.close()
    }

    private func claims(_ user: UUID) -> String {
        #"{"sub":"\#(user.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#
    }

    private func identity(_ user: UUID) -> AuthenticatedIdentity {
        AuthenticatedIdentity(userID: user, sessionID: nil, role: "authenticated", claimsJSON: claims(user))
    }

    private func count(_ sql: SQL, as user: UUID) throws -> Int {
        try pool.withUserScope(claimsJSON: claims(user), readOnly: true) { try $0.query(sql)[0].decode("n", as: Int.self) }
    }

    func testTablesFollowTheSecurityRules() throws {
        XCTAssertEqual(try SchemaAudit.violations(using: admin), [])
        let tables = try admin.query("""
            select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relname in ('projects', 'budget_ledger') and c.relrowsecurity and c.relforcerowsecurity
            order by 1
            """).map { try $0.decode("name", as: String.self) }
        XCTAssertEqual(tables, ["budget_ledger", "projects"])
    }

    func testNameSearchCanUseTheTrigramIndex() throws {
        // With sequential and plain index scans ruled out (set local: this transaction only), the
        // `like` must be answerable from the GIN index; a tiny table would otherwise just be scanned.
        let plan = try admin.query("""
            explain select id from public.projects where lower(name collate "und-x-icu") like '%trail%'
            """).map { try $0.decode("QUERY PLAN", as: String.self) }.joined(separator: "\n")
        let forced = try pool.withServiceRole { transaction in
            try transaction.query("set local enable_seqscan = off")
            try transaction.query("set local enable_indexscan = off")
            return try transaction.query(#"explain select id from public.projects where lower(name collate "und-x-icu") like '%trail%'"#)
                .map { try $0.decode("QUERY PLAN", as: String.self) }.joined(separator: "\n")
        }
        XCTAssertTrue(forced.contains("projects_name_icu_trgm_idx"), "plan without sequential scans:\n\(forced)\n(default plan:\n\(plan))")
    }

    func testUsersSeeAndChangeOnlyTheirOwnProjectsAndLedger() throws {
        let project = try pool.withUserScope(claimsJSON: claims(alice)) {
            try $0.query("insert into public.projects (name) values ('alice project') returning id")[0].decode("id", as: UUID.self)
        }
        // Ledger entries come only from the ledger functions.
        _ = try PostgresBudgetLedger(pool: pool).reserve(project: project, generation: UUID(), amount: try Money(parsing: "1.5"),
                                                         claimsJSON: claims(alice))
        XCTAssertEqual(try count("select count(*)::int as n from public.projects", as: bob), 0)
        XCTAssertEqual(try count("select count(*)::int as n from public.budget_ledger", as: bob), 0)
        XCTAssertEqual(try count("select count(*)::int as n from public.budget_ledger", as: alice), 1)

        let touched = try pool.withUserScope(claimsJSON: claims(bob)) {
            try $0.query("update public.projects set name = 'hijacked' where id = \(project) returning id").count
                + $0.query("delete from public.projects where id = \(project) returning id").count
        }
        XCTAssertEqual(touched, 0)
        for statement: SQL in ["update public.budget_ledger set amount = 0", "delete from public.budget_ledger"] {
            XCTAssertThrowsError(try pool.withUserScope(claimsJSON: claims(alice)) { try $0.query(statement) }) {
                XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501", "nobody rewrites the ledger, not even its owner")
            }
        }

        // Rows cannot be written for someone else, nor handed over.
        XCTAssertThrowsError(try pool.withUserScope(claimsJSON: claims(bob)) {
            try $0.query("insert into public.projects (user_id, name) values (\(alice), 'forged')")
        }) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501") }
        XCTAssertThrowsError(try pool.withUserScope(claimsJSON: claims(alice)) {
            try $0.query("update public.projects set user_id = \(bob) where id = \(project)")
        }) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501") }
        // Users cannot write ledger entries at all; the table's (user_id, project_id) key still keeps
        // any entry (even one written by the owner role) on its own project's owner.
        XCTAssertThrowsError(try pool.withUserScope(claimsJSON: claims(bob)) {
            try $0.query("insert into public.budget_ledger (project_id, kind, amount) values (\(project), 'charge', 1)")
        }) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501") }
        XCTAssertThrowsError(try admin.query("""
            insert into public.budget_ledger (user_id, project_id, kind, amount) values (\(bob), \(project), 'charge', 1)
            """)) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "23503") }

        // Deleting the project removes its ledger; deleting the user removes everything.
        try pool.withUserScope(claimsJSON: claims(alice)) { try $0.query("delete from public.projects where id = \(project)") }
        XCTAssertEqual(try count("select count(*)::int as n from public.budget_ledger", as: alice), 0)
        try pool.withUserScope(claimsJSON: claims(alice)) { try $0.query("insert into public.projects (name) values ('again')") }
        try admin.query("delete from auth.users where id = \(alice)")
        XCTAssertEqual(try admin.query("select count(*)::int as n from public.projects")[0].decode("n", as: Int.self), 0)
    }

    func testBudgetSummaryIsComputedFromTheLedgerForTheCurrentPeriod() throws {
        let store = PostgresProjectStore(pool: pool)
        let limit = try Money(parsing: "10.00")
        let monthly = try store.create(try ProjectRules.newProject(["name": .string("Monthly"), "budget_limit": .string("10.00"),
                                                                    "budget_period": .string("monthly")]), as: identity(alice))
        let total = try store.create(try ProjectRules.newProject(["name": .string("Total"), "budget_limit": .string("10.00")]),
                                     as: identity(alice))
        XCTAssertEqual(monthly.budget.spent, .zero)
        XCTAssertEqual(monthly.budget.remaining, limit)
        // Both projects were created 60 days ago; each has an old charge from 40 days ago, which is
        // always before the first of the current month.
        try admin.query("update public.projects set created_at = now() - interval '60 days'")
        for project in [monthly.id, total.id] {
            try admin.query("""
                insert into public.budget_ledger (user_id, project_id, kind, amount, created_at) values
                    (\(alice), \(project), 'charge', 100, now() - interval '40 days'),
                    (\(alice), \(project), 'reservation', 3.25, now()),
                    (\(alice), \(project), 'release', 1, now()),
                    (\(alice), \(project), 'charge', 2.0000000001, now())
                """)
        }
        // A reservation made last month and not yet released still holds money this month.
        try admin.query("""
            insert into public.budget_ledger (user_id, project_id, kind, amount, created_at)
            values (\(alice), \(monthly.id), 'reservation', 0.5, now() - interval '40 days')
            """)
        let monthlyNow = try XCTUnwrap(try store.project(id: monthly.id, as: identity(alice)))
        XCTAssertEqual(monthlyNow.budget.spent, try Money(parsing: "2.0000000001"))
        XCTAssertEqual(monthlyNow.budget.reserved, try Money(parsing: "2.75"))
        XCTAssertEqual(monthlyNow.budget.remaining, try Money(parsing: "5.2499999999"))
        let totalNow = try XCTUnwrap(try store.project(id: total.id, as: identity(alice)))
        XCTAssertEqual(totalNow.budget.spent, try Money(parsing: "102.0000000001"))
        XCTAssertEqual(totalNow.budget.remaining, try Money(parsing: "-94.2500000001", allowNegative: true), "an overrun shows as negative remaining")
        XCTAssertEqual(totalNow.budget.periodStart, totalNow.createdAt)
        XCTAssertNil(try store.project(id: total.id, as: identity(bob)), "another user's project does not exist for them")
    }
}

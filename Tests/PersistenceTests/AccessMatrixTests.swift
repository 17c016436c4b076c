import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// Every user table × select/insert/update/delete × (own row, another user's row), as
/// `authenticated` and as `anon`, through SQL as a client API would run it (the login role,
/// `set_config('role', …, true)` and `request.jwt.claims`), against exactly the allowed matrix.
final class AccessMatrixTests: XCTestCase {
    enum Outcome: String {
        /// The statement touched the row.
        case allowed
        /// It ran but saw no row (RLS filtered it out).
        case invisible
        /// Refused with SQLSTATE 42501 (no privilege, or WITH CHECK failed).
        case denied
    }

    enum Operation: String, CaseIterable {
        case select, insert, update, delete
    }

    private var admin: PostgresConnection!
    private var client: PostgresConnection!
    private let alice = UUID()
    private let bob = UUID()
    /// Alice's rows, one per table, by table.
    private var rows: [String: UUID] = [:]

    /// The tables in `public` and the expected outcome per (role, operation, whose row).
    /// Writing "another user's row" means: insert a row owned by them, update or delete theirs.
    private static let expected: [String: [String: [Operation: (own: Outcome, other: Outcome)]]] = [
        "projects": [
            "authenticated": [.select: (.allowed, .invisible), .insert: (.allowed, .denied),
                              .update: (.allowed, .invisible), .delete: (.allowed, .invisible)],
            "anon": [.select: (.denied, .denied), .insert: (.denied, .denied), .update: (.denied, .denied), .delete: (.denied, .denied)],
        ],
        "budget_ledger": [
            "authenticated": [.select: (.allowed, .invisible), .insert: (.denied, .denied),
                              .update: (.denied, .denied), .delete: (.denied, .denied)],
            "anon": [.select: (.denied, .denied), .insert: (.denied, .denied), .update: (.denied, .denied), .delete: (.denied, .denied)],
        ],
        "user_api_keys": [
            "authenticated": [.select: (.allowed, .invisible), .insert: (.allowed, .denied),
                              .update: (.allowed, .invisible), .delete: (.allowed, .invisible)],
            "anon": [.select: (.denied, .denied), .insert: (.denied, .denied), .update: (.denied, .denied), .delete: (.denied, .denied)],
        ],
        // Migration 020: the router's per-user state; no row is ever deleted by the API.
        "provider_configs": userWritable,
        "provider_health": userWritable,
        "provider_rate_limits": userWritable,
        // Migration 021: the user's monthly limit, and the scope ledger only the ledger functions write.
        "user_budgets": userWritable,
        "budget_scope_entries": readOnly,
        "budget_scope_totals": readOnly,
        // Migration 140: the project's summary row, kept by the ledger's own trigger.
        "project_budget_totals": readOnly,
    ].merging(engineTables.map { ($0, readOnly) }) { first, _ in first }

    /// Generations and what hangs off them (migration 010): readable by their owner, written only
    /// by the `app_engine` functions, so a user cannot mark a generation succeeded or change its cost.
    private static let engineTables = ["generations", "generation_attempts", "assets", "generation_events", "idempotency_keys",
                                               "generation_batches", "asset_parents"]

    private static let userWritable: [String: [Operation: (own: Outcome, other: Outcome)]] = [
        "authenticated": [.select: (.allowed, .invisible), .insert: (.allowed, .denied),
                          .update: (.allowed, .invisible), .delete: (.denied, .denied)],
        "anon": [.select: (.denied, .denied), .insert: (.denied, .denied), .update: (.denied, .denied), .delete: (.denied, .denied)],
    ]

    private static let readOnly: [String: [Operation: (own: Outcome, other: Outcome)]] = [
        "authenticated": [.select: (.allowed, .invisible), .insert: (.denied, .denied),
                          .update: (.denied, .denied), .delete: (.denied, .denied)],
        "anon": [.select: (.denied, .denied), .insert: (.denied, .denied), .update: (.denied, .denied), .delete: (.denied, .denied)],
    ]

    /// Tables with one row per user (or per user and provider), addressed by user_id rather than id.
    private static let keyedByUser: Set<String> = ["provider_configs", "provider_health", "provider_rate_limits", "user_budgets",
                                                   "budget_scope_totals", "idempotency_keys"]

    /// The column a table's test rows are found by (events have bigint ids, per-user rows none of their own).
    private static func keyColumn(_ table: String) -> String {
        if keyedByUser.contains(table) { return "user_id" }
        if table == "project_budget_totals" { return "project_id" }
        return table == "generation_events" ? "generation_id" : "id"
    }

    override func setUpWithError() throws {
        let url = try TestPostgresCluster.shared.createDatabase(prefix: "matrix")
        admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        client = try PostgresConnection(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"))
        for user in [alice, bob] {
            try admin.query("insert into auth.users (id, email) values (\(user), \(user.uuidString.lowercased() + "@example.com"))")
        }
        // One row per table for each user, written as the owner role (the matrix is about the API roles).
        for user in [alice, bob] {
            let project = try admin.query("insert into public.projects (user_id, name) values (\(user), 'p') returning id")[0].decode("id", as: UUID.self)
            let entry = try admin.query("""
                insert into public.budget_ledger (user_id, project_id, kind, amount) values (\(user), \(project), 'charge', 1) returning id
                """)[0].decode("id", as: UUID.self)
            let key = try admin.query("""
                insert into public.user_api_keys (id, user_id, provider, label, ciphertext, key_version, mask_prefix, last4, fingerprint)
                values (gen_random_uuid(), \(user), 'openai', 'k', '\\x00', 1, 'sk-', 'abcd', \(Data(user.uuidString.utf8))) returning id
                """)[0].decode("id", as: UUID.self)
            try admin.query("insert into public.provider_configs (user_id, provider) values (\(user), 'openai')")
            try admin.query("insert into public.provider_health (user_id, provider) values (\(user), 'openai')")
            try admin.query("insert into public.provider_rate_limits (user_id, provider) values (\(user), 'openai')")
            try admin.query("insert into public.user_budgets (user_id, monthly_limit) values (\(user), 10)")
            try admin.query("insert into public.budget_scope_totals (user_id, scope, period_start) values (\(user), 'user', now())")
            let scopeEntry = try admin.query("""
                insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
                values (\(user), 'user', 'charge', 1, gen_random_uuid()) returning id
                """)[0].decode("id", as: UUID.self)
            let generation = try admin.query("""
                insert into public.generations (user_id, project_id, kind, prompt, pricing_version) values (\(user), \(project), 'text', 'p', 'v')
                returning id
                """)[0].decode("id", as: UUID.self)
            let attempt = try admin.query("""
                insert into public.generation_attempts (user_id, generation_id, number, provider, model, status)
                values (\(user), \(generation), 1, 'local', 'm', 'failed') returning id
                """)[0].decode("id", as: UUID.self)
            let asset = try admin.query("""
                insert into public.assets (user_id, project_id, generation_id, kind, content_type, bytes, sha256, storage_key)
                values (\(user), \(project), \(generation), 'text', 'text/plain', 1, \(String(repeating: "a", count: 64)),
                        \(BlobKey.make(owner: user, hex: String(repeating: "a", count: 64)))) returning id
                """)[0].decode("id", as: UUID.self)
            let child = try admin.query("""
                insert into public.assets (user_id, project_id, kind, content_type, bytes, sha256, storage_key, source)
                values (\(user), \(project), 'text', 'text/plain', 1, \(String(repeating: "c", count: 64)),
                        \(BlobKey.make(owner: user, hex: String(repeating: "c", count: 64))), 'uploaded') returning id
                """)[0].decode("id", as: UUID.self)
            let lineage = try admin.query("""
                insert into public.asset_parents (user_id, asset_id, parent_id) values (\(user), \(child), \(asset)) returning id
                """)[0].decode("id", as: UUID.self)
            try admin.query("insert into public.generation_events (user_id, generation_id, type) values (\(user), \(generation), 'queued')")
            try admin.query("insert into public.idempotency_keys (user_id, key, request_hash) values (\(user), 'k', 'h')")
            let batch = try admin.query("""
                insert into public.generation_batches (id, user_id, project_id, estimate, items)
                values (gen_random_uuid(), \(user), \(project), 1, '[]') returning id
                """)[0].decode("id", as: UUID.self)
            if user == alice {
                rows = ["projects": project, "budget_ledger": entry, "user_api_keys": key, "budget_scope_entries": scopeEntry,
                        "generations": generation, "generation_attempts": attempt, "assets": asset, "generation_events": generation, "generation_batches": batch,
                        "asset_parents": lineage, "project_budget_totals": project]
                for table in Self.keyedByUser { rows[table] = alice }
            }
        }
    }

    /// The statement for one cell. `owner` is whose row it targets (or, for insert, whom the new row is for).
    private func statement(_ table: String, _ operation: Operation, owner: UUID) throws -> SQL {
        let target = owner == alice ? try XCTUnwrap(rows[table]) : try ownRow(of: bob, in: table)
        let key = SQL(unsafeRaw: Self.keyColumn(table))
        switch (table, operation) {
        case (_, .select): return "select 1 from public.\(SQL(unsafeRaw: table)) where \(key) = \(target)"
        case (_, .delete): return "delete from public.\(SQL(unsafeRaw: table)) where \(key) = \(target) returning 1"
        case ("provider_configs", .insert), ("provider_health", .insert), ("provider_rate_limits", .insert):
            // user_id is not insertable: a row is always the caller's.
            return owner == alice ? "insert into public.\(SQL(unsafeRaw: table)) (provider) values ('anthropic') returning 1"
                : "insert into public.\(SQL(unsafeRaw: table)) (user_id, provider) values (\(owner), 'anthropic') returning 1"
        case ("provider_configs", .update): return "update public.provider_configs set priority = 5 where user_id = \(target) returning 1"
        case ("provider_health", .update): return "update public.provider_health set consecutive_failures = 3 where user_id = \(target) returning 1"
        case ("provider_rate_limits", .update): return "update public.provider_rate_limits set tokens = 3 where user_id = \(target) returning 1"
        case ("user_budgets", .insert):
            // Alice has her row already: the upsert the API runs.
            return owner == alice
                ? "insert into public.user_budgets (monthly_limit) values (5) on conflict (user_id) do update set monthly_limit = 5 returning 1"
                : "insert into public.user_budgets (user_id, monthly_limit) values (\(owner), 5) returning 1"
        case ("user_budgets", .update): return "update public.user_budgets set monthly_limit = 3 where user_id = \(target) returning 1"
        case ("budget_scope_entries", .insert):
            return "insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id) values (\(owner), 'user', 'charge', 0, gen_random_uuid()) returning 1"
        case ("budget_scope_entries", .update): return "update public.budget_scope_entries set amount = 0 where id = \(target) returning 1"
        case ("budget_scope_totals", .insert):
            return "insert into public.budget_scope_totals (user_id, scope, period_start) values (\(owner), 'provider:fal', now()) returning 1"
        case ("budget_scope_totals", .update): return "update public.budget_scope_totals set spent = 0 where user_id = \(target) returning 1"
        case ("project_budget_totals", .insert):
            let project = try admin.query("select id from public.projects where user_id = \(owner)")[0].decode("id", as: UUID.self)
            return """
                insert into public.project_budget_totals (project_id, user_id, month_start, spent_total) values (\(project), \(owner), now(), 0)
                on conflict (project_id) do update set spent_total = 0 returning 1
                """
        case ("project_budget_totals", .update):
            return "update public.project_budget_totals set spent_total = 0, reserved = 0 where project_id = \(target) returning 1"
        case ("projects", .insert):
            // user_id is not insertable: a row is always the caller's (its default, auth.uid()).
            return owner == alice ? "insert into public.projects (name) values ('n') returning 1"
                : "insert into public.projects (user_id, name) values (\(owner), 'n') returning 1"
        case ("projects", .update): return "update public.projects set name = 'renamed' where id = \(target) returning 1"
        case ("budget_ledger", .insert):
            let project = try admin.query("select id from public.projects where user_id = \(owner)")[0].decode("id", as: UUID.self)
            return "insert into public.budget_ledger (user_id, project_id, kind, amount) values (\(owner), \(project), 'charge', 0) returning 1"
        case ("budget_ledger", .update): return "update public.budget_ledger set amount = 0 where id = \(target) returning 1"
        case ("user_api_keys", .insert):
            return """
                insert into public.user_api_keys (id, user_id, provider, label, ciphertext, key_version, mask_prefix, last4, fingerprint)
                values (gen_random_uuid(), \(owner), 'openai', 'new', '\\x01', 1, 'sk-', 'wxyz', '\\x02') returning 1
                """
        case ("user_api_keys", .update): return "update public.user_api_keys set last_used_at = now() where id = \(target) returning 1"
        case ("generations", .insert):
            let project = try admin.query("select id from public.projects where user_id = \(owner)")[0].decode("id", as: UUID.self)
            return """
                insert into public.generations (user_id, project_id, kind, prompt, pricing_version, status, actual_cost)
                values (\(owner), \(project), 'text', 'p', 'v', 'succeeded', 0) returning 1
                """
        case ("generations", .update): return "update public.generations set status = 'succeeded', actual_cost = 0 where id = \(target) returning 1"
        case ("generation_attempts", .insert):
            let generation = try admin.query("select id from public.generations where user_id = \(owner)")[0].decode("id", as: UUID.self)
            return """
                insert into public.generation_attempts (user_id, generation_id, number, provider, model, status)
                values (\(owner), \(generation), 9, 'local', 'm', 'succeeded') returning 1
                """
        case ("generation_attempts", .update): return "update public.generation_attempts set status = 'succeeded' where id = \(target) returning 1"
        case ("assets", .insert):
            let project = try admin.query("select id from public.projects where user_id = \(owner)")[0].decode("id", as: UUID.self)
            return """
                insert into public.assets (user_id, project_id, kind, content_type, bytes, sha256, storage_key)
                values (\(owner), \(project), 'text', 'text/plain', 1, \(String(repeating: "b", count: 64)), '../../etc/passwd') returning 1
                """
        case ("assets", .update): return "update public.assets set storage_key = '../x' where id = \(target) returning 1"
        case ("asset_parents", .insert):
            let assets = try admin.query("select id from public.assets where user_id = \(owner) order by created_at limit 2")
            return """
                insert into public.asset_parents (user_id, asset_id, parent_id)
                values (\(owner), \(try assets[1].decode("id", as: UUID.self)), \(try assets[0].decode("id", as: UUID.self))) returning 1
                """
        case ("asset_parents", .update): return "update public.asset_parents set created_at = now() where id = \(target) returning 1"
        case ("generation_events", .insert):
            let generation = try admin.query("select id from public.generations where user_id = \(owner)")[0].decode("id", as: UUID.self)
            return "insert into public.generation_events (user_id, generation_id, type) values (\(owner), \(generation), 'succeeded') returning 1"
        case ("generation_events", .update): return "update public.generation_events set type = 'succeeded' where generation_id = \(target) returning 1"
        case ("idempotency_keys", .insert):
            return "insert into public.idempotency_keys (user_id, key, request_hash) values (\(owner), 'other', 'h') returning 1"
        case ("idempotency_keys", .update):
            return "update public.idempotency_keys set response_status = 200, response_body = '{}' where user_id = \(target) returning 1"
        case ("generation_batches", .insert):
            let project = try admin.query("select id from public.projects where user_id = \(owner)")[0].decode("id", as: UUID.self)
            return """
                insert into public.generation_batches (id, user_id, project_id, estimate, charged, items, status)
                values (gen_random_uuid(), \(owner), \(project), 1, 0, '[]', 'finished') returning 1
                """
        case ("generation_batches", .update): return "update public.generation_batches set charged = 0, status = 'finished' where id = \(target) returning 1"
        default: throw TestSupportError("no statement for \(table) \(operation)")
        }
    }

    private func ownRow(of user: UUID, in table: String) throws -> UUID {
        let column = SQL(unsafeRaw: Self.keyColumn(table))
        return try admin.query("select \(column) as key from public.\(SQL(unsafeRaw: table)) where user_id = \(user) limit 1")[0]
            .decode("key", as: UUID.self)
    }

    /// Runs `sql` as `role` acting for Alice, in a transaction that is always rolled back.
    private func outcome(of sql: SQL, as role: String) throws -> Outcome {
        let claims = role == "anon" ? #"{"role":"anon"}"#
            : #"{"sub":"\#(alice.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#
        try client.query("begin")
        defer { _ = try? client.query("rollback") }
        try client.query("select set_config('role', \(role), true), set_config('request.jwt.claims', \(claims), true)")
        do {
            return try client.query(sql).isEmpty ? .invisible : .allowed
        } catch let error as DatabaseError where error.sqlState == "42501" {
            return .denied
        }
    }

    func testEveryUserTableAnswersExactlyTheAllowedMatrix() throws {
        let tables = try admin.query("""
            select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1
            """).map { try $0.decode("name", as: String.self) }
        XCTAssertEqual(tables, Self.expected.keys.sorted(), "every user table has its row in the matrix")
        var actual: [String] = []
        var wanted: [String] = []
        for table in tables {
            for role in ["authenticated", "anon"] {
                for operation in Operation.allCases {
                    let expectation = try XCTUnwrap(Self.expected[table]?[role]?[operation])
                    for (whose, owner, outcome) in [("own", alice, expectation.own), ("other's", bob, expectation.other)] {
                        let got = try self.outcome(of: try statement(table, operation, owner: owner), as: role)
                        actual.append("\(table) \(role) \(operation.rawValue) \(whose): \(got.rawValue)")
                        wanted.append("\(table) \(role) \(operation.rawValue) \(whose): \(outcome.rawValue)")
                    }
                }
            }
        }
        XCTAssertEqual(actual.count, Self.expected.count * 2 * 4 * 2)
        XCTAssertEqual(actual, wanted)
    }

    func testColumnsOutsideTheGrantsAreRefusedOnOwnRows() throws {
        let project = try XCTUnwrap(rows["projects"])
        let key = try XCTUnwrap(rows["user_api_keys"])
        let refused: [SQL] = [
            "update public.projects set version = 1 where id = \(project)",
            "update public.projects set user_id = \(bob) where id = \(project)",
            "update public.projects set created_at = now() where id = \(project)",
            "update public.user_api_keys set ciphertext = '\\x00' where id = \(key)",
            "update public.user_api_keys set provider = 'anthropic' where id = \(key)",
            "update public.user_api_keys set fingerprint = '\\x00' where id = \(key)",
            "update public.user_api_keys set user_id = \(bob) where id = \(key)",
            "select key_version from public.user_api_keys where id = \(key)",
            """
            insert into public.user_api_keys (id, user_id, provider, label, ciphertext, key_version, mask_prefix, last4, fingerprint, status)
            values (gen_random_uuid(), \(alice), 'openai', 'new', '\\x01', 1, 'sk-', 'wxyz', '\\x03', 'valid')
            """,
            "insert into public.projects (name, version) values ('n', 7)",
        ]
        let outcomes = try refused.map { try outcome(of: $0, as: "authenticated") }
        XCTAssertEqual(outcomes, Array(repeating: .denied, count: refused.count))
    }

    func testAnUpdateMovesVersionAndTimeWhateverTheWriterSets() throws {
        let project = try XCTUnwrap(rows["projects"])
        let claims = #"{"sub":"\#(alice.uuidString.lowercased())","role":"authenticated"}"#
        try client.query("begin")
        defer { _ = try? client.query("rollback") }
        try client.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', \(claims), true)")
        let before = try client.query("select version, updated_at from public.projects where id = \(project)")[0]
        let after = try client.query("update public.projects set name = 'x' where id = \(project) returning version, updated_at")[0]
        XCTAssertEqual(try after.decode("version", as: Int64.self), try before.decode("version", as: Int64.self) + 1)
        XCTAssertGreaterThan(try after.decode("updated_at", as: Date.self), try before.decode("updated_at", as: Date.self))
    }
}

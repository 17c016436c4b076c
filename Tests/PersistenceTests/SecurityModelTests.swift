import Foundation
import Persistence
import TestSupport
import XCTest

/// The security model at the SQL level: roles, the user scope, RLS, and the audit that holds every
/// user table to the rules.
final class SecurityModelTests: XCTestCase {
    static let migrationsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("migrations")

    private var adminURL = ""
    private var admin: PostgresConnection!
    private var pool: ConnectionPool!
    private let alice = UUID()
    private let bob = UUID()

    override func setUpWithError() throws {
        adminURL = try TestPostgresCluster.shared.createDatabase(prefix: "rls")
        admin = try PostgresConnection(url: adminURL)
        try MigrationRunner(directory: Self.migrationsFolder).migrate(using: admin)
        // As deployed: the server logs in as `authenticator`, which owns nothing.
        pool = ConnectionPool(.init(url: adminURL.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 1))
    }

    override func tearDown() {
        pool.close()
    }

    private func claims(_ user: UUID) -> String {
        #"{"sub":"\#(user.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#
    }

    /// A table written exactly as every user table must be (docs/security.md).
    private func createNotesTable() throws {
        try admin.executeScript("""
            create table public.notes (id uuid primary key default gen_random_uuid(), user_id uuid not null default auth.uid(),
                                       body text not null);
            create index notes_user_id_idx on public.notes (user_id);
            alter table public.notes enable row level security;
            alter table public.notes force row level security;
            create policy notes_select on public.notes for select to authenticated using ((select auth.uid()) = user_id);
            create policy notes_insert on public.notes for insert to authenticated with check ((select auth.uid()) = user_id);
            create policy notes_update on public.notes for update to authenticated
                using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
            create policy notes_delete on public.notes for delete to authenticated using ((select auth.uid()) = user_id);
            grant select, insert (body), update (body), delete on public.notes to authenticated;
            """)
    }

    /// The application's allowlist plus what the notes table grants.
    private var allowlistWithNotes: SchemaAllowlist {
        var allowlist = SchemaAllowlist.application
        allowlist.tables["authenticated", default: [:]]["public.notes"] =
            SchemaAllowlist.TableGrant(select: .all, insert: .only(["body"]), update: .only(["body"]), delete: true)
        return allowlist
    }

    func testMigratedSchemaPassesTheAudit() throws {
        XCTAssertEqual(try SchemaAudit.violations(using: admin), [])
        XCTAssertEqual(try SchemaAudit.authViolations(using: admin), [])
        try createNotesTable()
        XCTAssertEqual(try SchemaAudit.violations(using: admin, allowlist: allowlistWithNotes), [], "a table written to the rules passes")
        XCTAssertEqual(try SchemaAudit.violations(using: admin).sorted(), [
            "authenticated has DELETE on public.notes, which the allowlist does not grant",
            "authenticated has INSERT on public.notes.body, which the allowlist does not grant",
            "authenticated has SELECT on public.notes.body, which the allowlist does not grant",
            "authenticated has SELECT on public.notes.id, which the allowlist does not grant",
            "authenticated has SELECT on public.notes.user_id, which the allowlist does not grant",
            "authenticated has UPDATE on public.notes.body, which the allowlist does not grant",
            "public.notes: policy \"notes_delete\" is for DELETE to {authenticated}, which the allowlist does not allow",
            "public.notes: policy \"notes_insert\" is for INSERT to {authenticated}, which the allowlist does not allow",
            "public.notes: policy \"notes_select\" is for SELECT to {authenticated}, which the allowlist does not allow",
            "public.notes: policy \"notes_update\" is for UPDATE to {authenticated}, which the allowlist does not allow",
            "public.notes: writable by authenticated (DELETE, INSERT, UPDATE), but the API never writes it as a user",
        ].sorted(), "...but only once the allowlist says what the API does with it")
    }

    func testAuditFlagsATableThatBreaksTheRules() throws {
        try admin.executeScript("create table public.loose (id int primary key, body text)")
        let problems = try SchemaAudit.violations(using: admin)
        XCTAssertTrue(problems.contains("public.loose: row level security is not enabled"), "\(problems)")
        XCTAssertTrue(problems.contains("public.loose: row level security is not forced"))
        XCTAssertTrue(problems.contains("public.loose: has no user_id column"))
        XCTAssertTrue(problems.contains("public.loose: no index leads with user_id"))
        XCTAssertTrue(problems.contains("public.loose: has no policy"))

        try admin.executeScript("""
            create table public.sloppy (user_id uuid not null, body text);
            create index on public.sloppy (user_id);
            alter table public.sloppy enable row level security;
            alter table public.sloppy force row level security;
            create policy everyone on public.sloppy for select using (auth.uid() = user_id);
            """)
        let more = try SchemaAudit.violations(using: admin)
        XCTAssertTrue(more.contains(#"public.sloppy: policy "everyone" is for SELECT to {public}, which the allowlist does not allow"#), "\(more)")
    }

    func testUserScopeSeesAndWritesOnlyItsOwnRows() throws {
        try createNotesTable()
        try pool.withUserScope(claimsJSON: claims(alice)) { try $0.query("insert into public.notes (body) values ('alice 1'), ('alice 2')") }
        try pool.withUserScope(claimsJSON: claims(bob)) { try $0.query("insert into public.notes (body) values ('bob 1')") }

        let aliceSees = try pool.withUserScope(claimsJSON: claims(alice), readOnly: true) {
            try $0.query("select body from public.notes order by body").map { try $0.decode("body", as: String.self) }
        }
        XCTAssertEqual(aliceSees, ["alice 1", "alice 2"])

        // Inserting a row for someone else is refused by the policy's WITH CHECK.
        XCTAssertThrowsError(try pool.withUserScope(claimsJSON: claims(alice)) {
            try $0.query("insert into public.notes (user_id, body) values (\(bob), 'forged')")
        }) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501") }

        // Handing one's own row to someone else is refused; someone else's rows cannot be reached.
        XCTAssertThrowsError(try pool.withUserScope(claimsJSON: claims(alice)) {
            try $0.query("update public.notes set user_id = \(bob) where body = 'alice 1'")
        }) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501") }
        let touched = try pool.withUserScope(claimsJSON: claims(alice)) {
            try $0.query("update public.notes set body = 'hijacked' where body = 'bob 1' returning id").count
                + $0.query("delete from public.notes where body = 'bob 1' returning id").count
        }
        XCTAssertEqual(touched, 0)
        let bobSees = try pool.withUserScope(claimsJSON: claims(bob), readOnly: true) {
            try $0.query("select body from public.notes").map { try $0.decode("body", as: String.self) }
        }
        XCTAssertEqual(bobSees, ["bob 1"])
    }

    func testIdentityNeverOutlivesTheScope() throws {
        let inside = try pool.withUserScope(claimsJSON: claims(alice)) {
            try $0.query("select current_user as role, auth.uid()::text as uid")[0]
        }
        XCTAssertEqual(try inside.decode("role", as: String.self), "authenticated")
        XCTAssertEqual(try inside.decode("uid", as: String.self), alice.uuidString.lowercased())
        // The pool has one connection, so this is the same connection the scope used.
        let after = try pool.withConnection {
            try $0.query("select current_user as role, coalesce(current_setting('request.jwt.claims', true), '') as claims")[0]
        }
        XCTAssertEqual(try after.decode("role", as: String.self), "authenticator")
        XCTAssertEqual(try after.decode("claims", as: String.self), "")
        // A failing body rolls the identity back as well.
        struct Boom: Error {}
        XCTAssertThrowsError(try pool.withUserScope(claimsJSON: claims(alice)) { _ in throw Boom() })
        XCTAssertEqual(try pool.withConnection { try $0.query("select current_user as role")[0].decode("role", as: String.self) }, "authenticator")
    }

    func testLoginRoleAndUsersCannotReachAuthTables() throws {
        XCTAssertThrowsError(try pool.withConnection { try $0.query("select * from auth.users") }) {
            XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501")
        }
        XCTAssertThrowsError(try pool.withUserScope(claimsJSON: claims(alice)) { try $0.query("select * from auth.refresh_tokens") }) {
            XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501")
        }
        XCTAssertThrowsError(try pool.withConnection { try $0.query("create table public.mine (x int)") }) {
            XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501", "the login role owns nothing and creates nothing")
        }
        let count = try pool.withServiceRole { try $0.query("select count(*)::int as n from auth.users")[0].decode("n", as: Int.self) }
        XCTAssertEqual(count, 0)
    }

    func testAuthMigrationAppliesOverAnExistingSupabaseSchema() throws {
        let url = try TestPostgresCluster.shared.createDatabase(prefix: "supa")
        let connection = try PostgresConnection(url: url)
        // A trimmed copy of what Supabase creates before our migrations run.
        try connection.executeScript("""
            create schema auth;
            create table auth.users (instance_id uuid, id uuid primary key, aud varchar(255), role varchar(255), email varchar(255),
                encrypted_password varchar(255), email_confirmed_at timestamptz, invited_at timestamptz, confirmation_token varchar(255),
                last_sign_in_at timestamptz, raw_app_meta_data jsonb, raw_user_meta_data jsonb, is_super_admin bool,
                created_at timestamptz, updated_at timestamptz, phone text, banned_until timestamptz, deleted_at timestamptz,
                is_sso_user boolean not null default false, is_anonymous boolean not null default false);
            create or replace function auth.uid() returns uuid language sql stable as $$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
            """)
        // Every migration applies (the count follows the folder, so adding a migration does not break this).
        let runner = try MigrationRunner(directory: Self.migrationsFolder)
        XCTAssertEqual(try runner.migrate(using: connection).count, runner.files.count)
        let columns = try connection.query("select count(*)::int as n from information_schema.columns where table_schema = 'auth' and table_name = 'users'")
        XCTAssertEqual(try columns[0].decode("n", as: Int.self), 20, "Supabase's own table is kept as it was")
    }
}

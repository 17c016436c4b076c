import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// The migrations on a database laid out as Supabase lays it out: the `auth` schema, its tables
/// and functions created beforehand and owned by `supabase_auth_admin`, and migrations run by
/// another role (Supabase's `postgres`) that is not a superuser and owns none of them.
final class SupabaseOwnershipTests: XCTestCase {
    private var url = ""
    private var migrator = ""

    override func setUpWithError() throws {
        url = try TestPostgresCluster.shared.createDatabase(prefix: "supa")
        migrator = "supa_postgres_\(UUID().uuidString.prefix(8).lowercased())"
        let superuser = try PostgresConnection(url: url)
        // Roles are cluster-wide; the API roles may exist already (as on Supabase, where they always do).
        try superuser.executeScript(SQL(unsafeRaw: """
            do $$
            begin
                if not exists (select from pg_roles where rolname = 'supabase_auth_admin') then
                    create role supabase_auth_admin login noinherit createrole;
                end if;
                if not exists (select from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
                if not exists (select from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
                if not exists (select from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
                if not exists (select from pg_roles where rolname = 'authenticator') then create role authenticator login noinherit; end if;
            end
            $$;
            create role \(migrator) login createrole;
            grant anon, authenticated, service_role to \(migrator) with admin option;
            """))
        try superuser.executeScript(SQL(unsafeRaw: "alter database \(String(url.split(separator: "/").last ?? "")) owner to \(migrator)"))
        try superuser.executeScript(SQL(unsafeRaw: Self.supabaseAuthSchema(migrator: migrator)))
    }

    /// What Supabase creates before any project migration: GoTrue's tables (trimmed to what matters
    /// here) and the helper functions, all owned by supabase_auth_admin, and the grants Supabase
    /// gives `postgres` on them.
    private static func supabaseAuthSchema(migrator: String) -> String {
        """
        create schema auth authorization supabase_auth_admin;
        set role supabase_auth_admin;
        create table auth.users (instance_id uuid, id uuid primary key, aud varchar(255), role varchar(255), email varchar(255),
            encrypted_password varchar(255), email_confirmed_at timestamptz, invited_at timestamptz, confirmation_token varchar(255),
            last_sign_in_at timestamptz, raw_app_meta_data jsonb, raw_user_meta_data jsonb, is_super_admin bool,
            created_at timestamptz, updated_at timestamptz, phone text, banned_until timestamptz, deleted_at timestamptz,
            is_sso_user boolean not null default false, is_anonymous boolean not null default false);
        create table auth.sessions (id uuid primary key, user_id uuid not null references auth.users (id) on delete cascade,
            created_at timestamptz, updated_at timestamptz, factor_id uuid, aal text, not_after timestamptz, refreshed_at timestamp,
            user_agent text, ip inet, tag text);
        create table auth.refresh_tokens (instance_id uuid, id bigserial primary key, token varchar(255), user_id varchar(255),
            revoked boolean, created_at timestamptz, updated_at timestamptz, parent varchar(255),
            session_id uuid references auth.sessions (id) on delete cascade);
        alter table auth.users enable row level security;
        alter table auth.sessions enable row level security;
        alter table auth.refresh_tokens enable row level security;
        create function auth.uid() returns uuid language sql stable as $$
          select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $$;
        create function auth.role() returns text language sql stable as $$
          select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text $$;
        create function auth.email() returns text language sql stable as $$
          select coalesce(nullif(current_setting('request.jwt.claim.email', true), ''),
                          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'))::text $$;
        create function auth.jwt() returns jsonb language sql stable as $$
          select coalesce(nullif(current_setting('request.jwt.claim', true), ''), nullif(current_setting('request.jwt.claims', true), ''))::jsonb $$;
        grant usage on schema auth to anon, authenticated, service_role;
        grant all on schema auth to \(migrator);
        grant all on all tables in schema auth to \(migrator);
        grant all on all sequences in schema auth to \(migrator);
        grant all on all routines in schema auth to \(migrator);
        reset role;
        """
    }

    private var migratorURL: String { url.replacingOccurrences(of: "postgres@", with: "\(migrator)@") }

    /// Owners of everything in `auth`, by object.
    private func authOwners(_ connection: PostgresConnection) throws -> [String: String] {
        let rows = try connection.query("""
            select c.relname as name, pg_get_userbyid(c.relowner) as owner from pg_class c
            where c.relnamespace = 'auth'::regnamespace and c.relkind in ('r', 'S')
            union all
            select p.proname || '()', pg_get_userbyid(p.proowner) from pg_proc p where p.pronamespace = 'auth'::regnamespace
            union all
            select 'schema auth', pg_get_userbyid(nspowner) from pg_namespace where nspname = 'auth'
            """)
        var owners: [String: String] = [:]
        for row in rows { owners[try row.decode("name")] = try row.decode("owner", as: String.self) }
        return owners
    }

    func testMigrationsApplyAsAMemberOfTheAuthOwnerAndLeaveItsObjectsItsOwn() throws {
        // Supabase's own migration 20220609081115 grants supabase_auth_admin to postgres, "so that the
        // postgres role can manage auth tables" without being their owner or a superuser.
        let superuser = try PostgresConnection(url: url)
        try superuser.executeScript(SQL(unsafeRaw: "grant supabase_auth_admin to \(migrator)"))
        let before = try authOwners(superuser)
        XCTAssertEqual(Set(before.values), ["supabase_auth_admin"])

        let connection = try PostgresConnection(url: migratorURL)
        XCTAssertEqual(try connection.query("select rolsuper from pg_roles where rolname = current_user")[0].decode("rolsuper", as: Bool.self), false)
        let runner = try MigrationRunner(directory: SecurityModelTests.migrationsFolder)
        XCTAssertEqual(try runner.migrate(using: connection).count, runner.files.count)

        let after = try authOwners(superuser)
        XCTAssertEqual(after.filter { before[$0.key] != nil }, before, "every auth object Supabase created keeps its owner")
        XCTAssertEqual(Set(after.values), ["supabase_auth_admin"], "and what the migrations added to auth belongs to it as well")
        let columns = try superuser.query("select count(*)::int as n from information_schema.columns where table_schema = 'auth' and table_name = 'users'")
        XCTAssertEqual(try columns[0].decode("n", as: Int.self), 20, "Supabase's own table is kept as it was")
        XCTAssertEqual(try SchemaAudit.violations(using: superuser), [])
        XCTAssertEqual(try SchemaAudit.authViolations(using: superuser), [])

        // The ledger works there too: its functions belong to their own role, not to the migrator.
        let user = UUID()
        try superuser.query("insert into auth.users (id, email) values (\(user), 'supa@example.com')")
        let project = try superuser.query("insert into public.projects (user_id, name, budget_limit) values (\(user), 'p', 1) returning id")[0]
            .decode("id", as: UUID.self)
        let pool = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 1))
        defer { pool.close() }
        let claims = #"{"sub":"\#(user.uuidString.lowercased())","role":"authenticated"}"#
        let reserved = try PostgresBudgetLedger(pool: pool).reserve(project: project, generation: UUID(), amount: try Money(parsing: "1"),
                                                                    claimsJSON: claims)
        XCTAssertTrue(reserved.admitted)
    }

    func testWithoutTheOwnersRightsMigration002StopsWhereItNeedsThem() throws {
        // A migrating role with Supabase's grants on auth but not the owner's rights (Supabase has
        // restricted what `postgres` may do in auth since 2025-04-21): 002 cannot index or alter
        // GoTrue's tables, nor replace its functions. README, "Sharing a Supabase database", says
        // what to do; this test pins where it stops and that it changes nothing.
        let connection = try PostgresConnection(url: migratorURL)
        let runner = try MigrationRunner(directory: SecurityModelTests.migrationsFolder)
        XCTAssertThrowsError(try runner.migrate(using: connection)) { error in
            guard case .failed(let version, _, let underlying)? = error as? MigrationError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(version, 2)
            XCTAssertEqual(underlying.sqlState, "42501")
            XCTAssertTrue(underlying.serverMessage.contains("must be owner of table users"), underlying.serverMessage)
        }
        XCTAssertEqual(try runner.status(using: connection).applied, [1], "002 rolled back as a whole")
    }
}

import Foundation
import Persistence
import TestSupport
import XCTest

/// The audit fails for each kind of mistake: each case makes one bad change to a migrated
/// database inside a transaction, runs the audit there, checks the specific violation, and rolls back.
final class SchemaAuditTests: XCTestCase {
    private var admin: PostgresConnection!

    override func setUpWithError() throws {
        admin = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase(prefix: "audit"))
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
    }

    /// The violations with `mistake` applied; the database is left as it was.
    private func violations(after mistake: String) throws -> [String] {
        try admin.query("begin")
        defer { _ = try? admin.query("rollback") }
        try admin.executeScript(SQL(unsafeRaw: mistake))
        return try SchemaAudit.violations(using: admin)
    }

    func testTheMigratedSchemaPasses() throws {
        XCTAssertEqual(try SchemaAudit.violations(using: admin), [])
    }

    func testAPolicyWithAnExtraDisjunctFails() throws {
        let problems = try violations(after: """
            drop policy projects_select on public.projects;
            create policy projects_select on public.projects for select to authenticated using ((select auth.uid()) = user_id or true);
            """)
        XCTAssertEqual(problems, [#"public.projects: policy "projects_select" has using ((( SELECT auth.uid() AS uid) = user_id) OR true) and with check -, not an allowed form"#])
    }

    func testAPolicyComparingTheWrongColumnFails() throws {
        let problems = try violations(after: """
            alter table public.user_api_keys add column shared_with uuid;
            drop policy user_api_keys_select on public.user_api_keys;
            create policy user_api_keys_select on public.user_api_keys for select to authenticated using ((select auth.uid()) = shared_with);
            """)
        XCTAssertTrue(problems.contains(#"public.user_api_keys: policy "user_api_keys_select" has using (( SELECT auth.uid() AS uid) = shared_with) and with check -, not an allowed form"#),
                      "\(problems)")
    }

    func testAnUpdatePolicyWithoutItsCheckFails() throws {
        let problems = try violations(after: """
            drop policy projects_update on public.projects;
            create policy projects_update on public.projects for update to authenticated using ((select auth.uid()) = user_id) with check (true);
            """)
        XCTAssertEqual(problems, [#"public.projects: policy "projects_update" has using (( SELECT auth.uid() AS uid) = user_id) and with check true, not an allowed form"#])
    }

    func testAWritePolicyOnTheLedgerFails() throws {
        let problems = try violations(after: """
            create policy budget_ledger_delete on public.budget_ledger for delete to authenticated using ((select auth.uid()) = user_id);
            """)
        XCTAssertEqual(problems, [#"public.budget_ledger: policy "budget_ledger_delete" is for DELETE to {authenticated}, which the allowlist does not allow"#])
    }

    func testAPolicyForEveryCommandOrEveryRoleFails() throws {
        let problems = try violations(after: """
            create policy versions_all on pricing.versions for all to authenticated using (true);
            create policy versions_anon on pricing.versions for select to anon, authenticated using (true);
            """)
        XCTAssertEqual(problems, [
            #"pricing.versions: policy "versions_all" is for ALL to {authenticated}, which the allowlist does not allow"#,
            #"pricing.versions: policy "versions_anon" is for SELECT to {anon,authenticated}, which the allowlist does not allow"#,
        ])
    }

    func testAColumnGrantBeyondTheAllowlistFails() throws {
        let problems = try violations(after: "grant update (ciphertext) on public.user_api_keys to authenticated")
        XCTAssertEqual(problems, ["authenticated has UPDATE on public.user_api_keys.ciphertext, which the allowlist does not grant"])
    }

    func testAWritableLedgerFails() throws {
        let problems = try violations(after: "grant insert on public.budget_ledger to authenticated")
        XCTAssertTrue(problems.contains("public.budget_ledger: writable by authenticated (INSERT), but the API never writes it as a user"), "\(problems)")
        XCTAssertTrue(problems.contains("authenticated has INSERT on public.budget_ledger.amount, which the allowlist does not grant"))
    }

    func testAGrantToPublicCountsForEveryRole() throws {
        let problems = try violations(after: "grant delete on public.budget_ledger to public")
        XCTAssertEqual(problems, [
            "public.budget_ledger: writable by anon (DELETE), but the API never writes it as a user",
            "public.budget_ledger: writable by authenticated (DELETE), but the API never writes it as a user",
            "anon has DELETE on public.budget_ledger, which the allowlist does not grant",
            "authenticated has DELETE on public.budget_ledger, which the allowlist does not grant",
        ])
    }

    func testAnyGrantToAnonFails() throws {
        let problems = try violations(after: "grant select (name) on public.projects to anon; grant select on pricing.versions to anon")
        XCTAssertTrue(problems.contains("anon has SELECT on public.projects.name, which the allowlist does not grant"), "\(problems)")
        XCTAssertTrue(problems.contains("anon has SELECT on pricing.versions.document, which the allowlist does not grant"))
    }

    func testAMissingGrantFails() throws {
        let problems = try violations(after: "revoke delete on public.projects from authenticated")
        XCTAssertEqual(problems, ["authenticated lacks DELETE on public.projects, which the API needs"])
    }

    func testTablesInOtherOwnedSchemasAreAuditedToo() throws {
        let problems = try violations(after: """
            create table app_private.leak (secret text);
            grant select on app_private.leak to authenticated;
            grant usage on schema app_private to authenticated;
            """)
        XCTAssertEqual(problems, [
            "authenticated has SELECT on app_private.leak.secret, which the allowlist does not grant",
            "authenticated has USAGE on schema app_private, which the allowlist does not grant",
        ])
    }

    func testCreatePrivilegeOnASchemaAndSequenceUseFail() throws {
        let problems = try violations(after: """
            grant create on schema public to authenticated;
            create sequence public.counter;
            grant usage on sequence public.counter to authenticated;
            """)
        XCTAssertEqual(problems, [
            "authenticated has CREATE on schema public, which the allowlist does not grant",
            "authenticated has USAGE on sequence public.counter, which the allowlist does not grant",
        ])
    }

    func testAnUnpinnedOrExposedOrPubliclyExecutableDefinerFunctionFails() throws {
        let problems = try violations(after: """
            create function app_ledger.wipe() returns void language sql security definer as $$ select $$;
            create function public.peek() returns int language sql security definer set search_path = '' as $$ select 1 $$;
            revoke execute on function public.peek() from public;
            """)
        XCTAssertEqual(problems, [
            "app_ledger.wipe: SECURITY DEFINER without search_path = ''",
            "public.peek: SECURITY DEFINER in a schema a client API exposes",
            "anon has EXECUTE on app_ledger.wipe, which the allowlist does not grant",
            "authenticated has EXECUTE on app_ledger.wipe, which the allowlist does not grant",
        ])
    }

    func testAUserTableWithoutForcedRLSOrUserIndexFails() throws {
        let problems = try violations(after: """
            alter table public.projects no force row level security;
            drop index public.budget_ledger_user_project_idx;
            """)
        XCTAssertEqual(problems, ["public.budget_ledger: no index leads with user_id", "public.projects: row level security is not forced"])
    }

    func testReferenceDataWithoutRLSFails() throws {
        let problems = try violations(after: "alter table pricing.versions disable row level security")
        XCTAssertEqual(problems, ["pricing.versions: row level security is not enabled"])
    }
}

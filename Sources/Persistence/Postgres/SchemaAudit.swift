/// Checks the security rules every user-owned table must follow (DESIGN.md, "Data and security
/// model"): RLS enabled and forced, a `user_id` column, at least one policy, every policy granted
/// `to authenticated` and written with `(select auth.uid())`, and an index leading with `user_id`.
public enum SchemaAudit {
    /// Schemas that hold user data. `auth` follows Supabase's rules instead (RLS on, no policies,
    /// only service_role), which `authViolations` checks.
    public static let applicationSchemas = ["public"]

    public static func violations(using connection: PostgresConnection, schemas: [String] = applicationSchemas) throws -> [String] {
        var problems: [String] = []
        let tables = try connection.query("""
            select n.nspname as schema, c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
                   exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'user_id' and not a.attisdropped) as has_user_id,
                   exists (select 1 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                           where i.indrelid = c.oid and a.attname = 'user_id') as user_id_index
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'p') and n.nspname = any(\(schemas)::text[])
            order by 1, 2
            """)
        for table in tables {
            let name = "\(try table.decode("schema", as: String.self)).\(try table.decode("name", as: String.self))"
            if try !table.decode("rls", as: Bool.self) { problems.append("\(name): row level security is not enabled") }
            if try !table.decode("forced", as: Bool.self) { problems.append("\(name): row level security is not forced") }
            if try !table.decode("has_user_id", as: Bool.self) { problems.append("\(name): has no user_id column") }
            if try !table.decode("user_id_index", as: Bool.self) { problems.append("\(name): no index leads with user_id") }
        }
        let policies = try connection.query("""
            select t.schemaname || '.' || t.tablename as table_name, p.policyname as policy, p.roles::text as roles,
                   coalesce(p.qual, '') as using_clause, coalesce(p.with_check, '') as check_clause
            from pg_tables t left join pg_policies p on p.schemaname = t.schemaname and p.tablename = t.tablename
            where t.schemaname = any(\(schemas)::text[])
            order by 1, 2
            """)
        for row in policies {
            let table = try row.decode("table_name", as: String.self)
            guard let policy = try row.decodeIfPresent("policy", as: String.self) else {
                problems.append("\(table): has no policy")
                continue
            }
            if try row.decode("roles", as: String.self) != "{authenticated}" {
                problems.append("\(table): policy \"\(policy)\" is not limited to authenticated")
            }
            let clauses = try row.decode("using_clause", as: String.self) + " " + row.decode("check_clause", as: String.self)
            if !clauses.contains("( SELECT auth.uid() AS uid)") || !clauses.contains("user_id") {
                problems.append("\(table): policy \"\(policy)\" does not compare user_id with (select auth.uid())")
            }
        }
        return problems
    }

    /// Supabase's rule for `auth`: RLS enabled on every table, so only service_role reaches them.
    public static func authViolations(using connection: PostgresConnection) throws -> [String] {
        try connection.query("""
            select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'auth' and c.relkind = 'r' and not c.relrowsecurity order by 1
            """).map { "auth.\(try $0.decode("name", as: String.self)): row level security is not enabled" }
    }
}

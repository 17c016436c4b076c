/// Checks the security rules of the schemas the app owns (DESIGN.md, "Data and security model")
/// against the database itself, never against names or substrings:
/// - every table in a user schema has `user_id`, RLS enabled and forced, an index leading with
///   `user_id`, and at least one policy; a table anyone may read (reference data) has RLS too;
/// - every policy is exactly one of the allowed forms for its table, role and command, compared
///   with PostgreSQL's own printing of the expression (so `… or true` fails);
/// - what `anon` and `authenticated` may do (per column, per table, on schemas, sequences and
///   functions, grants to PUBLIC included) is exactly `SchemaAllowlist`, and no table the API never
///   writes as a user is writable by them;
/// - SECURITY DEFINER functions pin `search_path` and live outside exposed schemas.
public enum SchemaAudit {
    /// Schemas whose functions a client API (PostgREST) may expose: no SECURITY DEFINER there.
    static let exposedSchemas = ["public"]

    public static func violations(using connection: PostgresConnection, allowlist: SchemaAllowlist = .application) throws -> [String] {
        var problems = try tableRules(connection, allowlist)
        problems += try policyRules(connection, allowlist)
        problems += try grantRules(connection, allowlist)
        problems += try functionRules(connection, allowlist)
        return problems
    }

    /// Supabase's rule for `auth`: RLS enabled on every table, so only service_role reaches them.
    public static func authViolations(using connection: PostgresConnection) throws -> [String] {
        try connection.query("""
            select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'auth' and c.relkind = 'r' and not c.relrowsecurity order by 1
            """).map { "auth.\(try $0.decode("name", as: String.self)): row level security is not enabled" }
    }

    /// The same text for the same expression however it was typed.
    static func normalised(_ expression: String?) -> String? {
        expression.map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
    }

    private static func tableRules(_ connection: PostgresConnection, _ allowlist: SchemaAllowlist) throws -> [String] {
        var problems: [String] = []
        let tables = try connection.query("""
            select n.nspname as schema, n.nspname || '.' || c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
                   exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'user_id' and not a.attisdropped) as has_user_id,
                   exists (select 1 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                           where i.indrelid = c.oid and a.attname = 'user_id') as user_id_index,
                   exists (select 1 from pg_policy p where p.polrelid = c.oid) as has_policy
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'p') and n.nspname = any(\(allowlist.schemas)::text[])
            order by 2
            """)
        for table in tables {
            let name = try table.decode("name", as: String.self)
            let userOwned = allowlist.userSchemas.contains(try table.decode("schema", as: String.self))
            let readable = SchemaAllowlist.auditedRoles.contains { allowlist.grant($0, name) != SchemaAllowlist.TableGrant() }
            guard userOwned || readable else { continue }
            if try !table.decode("rls", as: Bool.self) { problems.append("\(name): row level security is not enabled") }
            if try !table.decode("forced", as: Bool.self) { problems.append("\(name): row level security is not forced") }
            if try !table.decode("has_policy", as: Bool.self) { problems.append("\(name): has no policy") }
            if userOwned {
                if try !table.decode("has_user_id", as: Bool.self) { problems.append("\(name): has no user_id column") }
                if try !table.decode("user_id_index", as: Bool.self) { problems.append("\(name): no index leads with user_id") }
            }
        }
        return problems
    }

    private static func policyRules(_ connection: PostgresConnection, _ allowlist: SchemaAllowlist) throws -> [String] {
        let rows = try connection.query("""
            select p.schemaname as schema, p.schemaname || '.' || p.tablename as table_name, p.policyname as policy,
                   array_to_string(p.roles, ',') as roles, p.cmd as command, p.qual as using_clause, p.with_check as check_clause
            from pg_policies p
            where p.schemaname = any(\(allowlist.schemas)::text[])
            order by 2, 3
            """)
        var problems: [String] = []
        for row in rows {
            let table = try row.decode("table_name", as: String.self)
            let policy = try row.decode("policy", as: String.self)
            let roles = try row.decode("roles", as: String.self).split(separator: ",").map(String.init)
            let command = try row.decode("command", as: String.self)
            let using = normalised(try row.decodeIfPresent("using_clause", as: String.self))
            let check = normalised(try row.decodeIfPresent("check_clause", as: String.self))
            let userOwned = allowlist.userSchemas.contains(try row.decode("schema", as: String.self))
            let allowed = allowlist.policies[table]
                ?? (userOwned ? SchemaAllowlist.ownerPolicies(for: allowlist.grant("authenticated", table)) : [])
            guard roles.count == 1, let role = roles.first else {
                problems.append("\(table): policy \"\(policy)\" is for \(command) to {\(roles.joined(separator: ","))}, which the allowlist does not allow")
                continue
            }
            let forms = allowed.filter { $0.role == role && $0.command == command }
            if forms.isEmpty {
                problems.append("\(table): policy \"\(policy)\" is for \(command) to {\(role)}, which the allowlist does not allow")
            } else if !forms.contains(where: { $0.using == using && $0.check == check }) {
                problems.append("\(table): policy \"\(policy)\" has using \(using ?? "-") and with check \(check ?? "-"), not an allowed form")
            }
        }
        return problems
    }

    /// Privileges are read with has_*_privilege, which counts grants to PUBLIC and through role
    /// membership, i.e. what the role can actually do.
    private static func grantRules(_ connection: PostgresConnection, _ allowlist: SchemaAllowlist) throws -> [String] {
        let roles = SchemaAllowlist.auditedRoles
        var actual = Set<String>()
        var writes: [String: Set<String>] = [:]  // "role table" → write privileges held
        let columnRows = try connection.query("""
            select r.role, n.nspname || '.' || c.relname as table_name, a.attname as column_name, p.privilege
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            cross join unnest(\(roles)::text[]) r(role)
            cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) p(privilege)
            where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname = any(\(allowlist.schemas)::text[])
              and exists (select from pg_roles where rolname = r.role)
              and has_column_privilege(r.role, c.oid, a.attnum, p.privilege)
            """)
        for row in columnRows {
            let role = try row.decode("role", as: String.self)
            let table = try row.decode("table_name", as: String.self)
            let privilege = try row.decode("privilege", as: String.self)
            actual.insert("\(role) \(privilege) \(table).\(try row.decode("column_name", as: String.self))")
            if privilege == "INSERT" || privilege == "UPDATE" { writes["\(role) \(table)", default: []].insert(privilege) }
        }
        let tableRows = try connection.query("""
            select r.role, n.nspname || '.' || c.relname as table_name, p.privilege
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            cross join unnest(\(roles)::text[]) r(role)
            cross join unnest(array['DELETE', 'TRUNCATE', 'TRIGGER']) p(privilege)
            where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname = any(\(allowlist.schemas)::text[])
              and exists (select from pg_roles where rolname = r.role)
              and has_table_privilege(r.role, c.oid, p.privilege)
            """)
        for row in tableRows {
            let role = try row.decode("role", as: String.self)
            let table = try row.decode("table_name", as: String.self)
            let privilege = try row.decode("privilege", as: String.self)
            actual.insert("\(role) \(privilege) \(table)")
            if privilege != "TRIGGER" { writes["\(role) \(table)", default: []].insert(privilege) }
        }
        // The columns of every table an allowlist entry names, to expand `.all`.
        let columns = try connection.query("""
            select n.nspname || '.' || c.relname as table_name, string_agg(a.attname, ',' order by a.attnum) as columns
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where n.nspname = any(\(allowlist.schemas)::text[]) group by 1
            """)
        var columnsOf: [String: [String]] = [:]
        for row in columns { columnsOf[try row.decode("table_name")] = try row.decode("columns", as: String.self).split(separator: ",").map(String.init) }

        var expected = Set<String>()
        for role in roles {
            for (table, grant) in allowlist.tables[role] ?? [:] {
                let all = columnsOf[table] ?? []
                for (privilege, granted) in [("SELECT", grant.select), ("INSERT", grant.insert), ("UPDATE", grant.update)] {
                    let names: [String]
                    switch granted {
                    case .none: names = []
                    case .all: names = all
                    case .only(let set): names = all.filter(set.contains)
                    }
                    names.forEach { expected.insert("\(role) \(privilege) \(table).\($0)") }
                }
                if grant.delete { expected.insert("\(role) DELETE \(table)") }
            }
        }

        var problems: [String] = []
        for (key, held) in writes.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, !allowlist.grant(parts[0], parts[1]).writes else { continue }
            problems.append("\(parts[1]): writable by \(parts[0]) (\(held.sorted().joined(separator: ", "))), but the API never writes it as a user")
        }
        problems += describe(actual.subtracting(expected), "which the allowlist does not grant", verb: "has")
        problems += describe(expected.subtracting(actual), "which the API needs", verb: "lacks")
        problems += try schemaAndSequenceRules(connection, allowlist)
        return problems
    }

    /// "role PRIVILEGE object" entries as sentences, sorted.
    private static func describe(_ entries: Set<String>, _ reason: String, verb: String) -> [String] {
        entries.sorted().map { entry in
            let parts = entry.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count == 3 else { return entry }
            return "\(parts[0]) \(verb) \(parts[1]) on \(parts[2]), \(reason)"
        }
    }

    private static func schemaAndSequenceRules(_ connection: PostgresConnection, _ allowlist: SchemaAllowlist) throws -> [String] {
        var actual = Set<String>()
        let rows = try connection.query("""
            select r.role, 'schema ' || n.nspname as object, p.privilege
            from pg_namespace n cross join unnest(\(SchemaAllowlist.auditedRoles)::text[]) r(role)
            cross join unnest(array['USAGE', 'CREATE']) p(privilege)
            where n.nspname = any(\(allowlist.schemas)::text[]) and exists (select from pg_roles where rolname = r.role)
              and has_schema_privilege(r.role, n.oid, p.privilege)
            union all
            select r.role, 'sequence ' || n.nspname || '.' || c.relname, p.privilege
            from pg_class c join pg_namespace n on n.oid = c.relnamespace cross join unnest(\(SchemaAllowlist.auditedRoles)::text[]) r(role)
            cross join unnest(array['USAGE', 'SELECT', 'UPDATE']) p(privilege)
            where c.relkind = 'S' and n.nspname = any(\(allowlist.schemas)::text[]) and exists (select from pg_roles where rolname = r.role)
              and has_sequence_privilege(r.role, c.oid, p.privilege)
            """)
        for row in rows {
            actual.insert("\(try row.decode("role", as: String.self)) \(try row.decode("privilege", as: String.self)) \(try row.decode("object", as: String.self))")
        }
        var expected = Set<String>()
        for (role, schemas) in allowlist.schemaUsage {
            schemas.filter(allowlist.schemas.contains).forEach { expected.insert("\(role) USAGE schema \($0)") }
        }
        return describe(actual.subtracting(expected), "which the allowlist does not grant", verb: "has")
            + describe(expected.subtracting(actual), "which the API needs", verb: "lacks")
    }

    private static func functionRules(_ connection: PostgresConnection, _ allowlist: SchemaAllowlist) throws -> [String] {
        // Functions that extensions install (pg_trgm's, in public) belong to the extension, not to us.
        let rows = try connection.query("""
            select n.nspname as schema, n.nspname || '.' || p.proname as name, p.prosecdef as definer,
                   coalesce('search_path=""' = any(p.proconfig), false) as pinned_path,
                   coalesce((select string_agg(r.role, ',') from unnest(\(SchemaAllowlist.auditedRoles)::text[]) r(role)
                             where exists (select from pg_roles where rolname = r.role)
                               and has_function_privilege(r.role, p.oid, 'EXECUTE')), '') as executors
            from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = any(\(allowlist.schemas)::text[])
              and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
            order by 2
            """)
        var actual = Set<String>()
        var problems: [String] = []
        for row in rows {
            let name = try row.decode("name", as: String.self)
            try row.decode("executors", as: String.self).split(separator: ",").forEach { actual.insert("\($0) EXECUTE \(name)") }
            guard try row.decode("definer", as: Bool.self) else { continue }
            if try !row.decode("pinned_path", as: Bool.self) {
                problems.append("\(name): SECURITY DEFINER without search_path = ''")
            }
            if exposedSchemas.contains(try row.decode("schema", as: String.self)) {
                problems.append("\(name): SECURITY DEFINER in a schema a client API exposes")
            }
        }
        var expected = Set<String>()
        for (role, functions) in allowlist.functions { functions.forEach { expected.insert("\(role) EXECUTE \($0)") } }
        return problems + describe(actual.subtracting(expected), "which the allowlist does not grant", verb: "has")
            + describe(expected.subtracting(actual), "which the API needs", verb: "lacks")
    }
}

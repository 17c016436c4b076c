/// Exactly what the API roles may do in the schemas the app owns: what the Persistence code does
/// as `authenticated` (every statement in `Sources/Persistence`), and nothing for `anon`, which
/// the API never uses. `SchemaAudit` compares the database with it in both directions, so a
/// grant the code does not need fails the audit as surely as a missing one.
public struct SchemaAllowlist: Sendable {
    public enum Columns: Sendable, Equatable {
        case none
        /// Every column, present and future (a table-level grant).
        case all
        case only(Set<String>)
    }

    /// One role's privileges on one table. DELETE, TRUNCATE and TRIGGER are table-wide;
    /// REFERENCES is never allowed.
    public struct TableGrant: Sendable, Equatable {
        public var select: Columns
        public var insert: Columns
        public var update: Columns
        public var delete: Bool

        public init(select: Columns = .none, insert: Columns = .none, update: Columns = .none, delete: Bool = false) {
            self.select = select
            self.insert = insert
            self.update = update
            self.delete = delete
        }

        public var writes: Bool { insert != .none || update != .none || delete }
    }

    /// A policy the audit accepts: for one role and one command, with exactly these expressions
    /// as PostgreSQL prints them (`pg_policies.qual` / `with_check`, whitespace collapsed).
    public struct Policy: Sendable, Equatable {
        public let role: String
        public let command: String
        public let using: String?
        public let check: String?

        public init(role: String, command: String, using: String?, check: String?) {
            self.role = role
            self.command = command
            self.using = using
            self.check = check
        }
    }

    /// The one ownership expression: `(select auth.uid()) = user_id`, as PostgreSQL prints it.
    public static let ownerExpression = "(( SELECT auth.uid() AS uid) = user_id)"

    /// The policies a user-owned table may have for `role`: one per command it may run.
    public static func ownerPolicies(role: String = "authenticated", for grant: TableGrant) -> [Policy] {
        var policies: [Policy] = []
        if grant.select != .none { policies.append(Policy(role: role, command: "SELECT", using: ownerExpression, check: nil)) }
        if grant.insert != .none { policies.append(Policy(role: role, command: "INSERT", using: nil, check: ownerExpression)) }
        if grant.update != .none {
            policies.append(Policy(role: role, command: "UPDATE", using: ownerExpression, check: ownerExpression))
        }
        if grant.delete { policies.append(Policy(role: role, command: "DELETE", using: ownerExpression, check: nil)) }
        return policies
    }

    /// Schemas the app creates or shares (`auth`); every table, function and grant in them is audited.
    public var schemas: [String]
    /// Schemas whose every table is user-owned (user_id, forced RLS, owner policies).
    public var userSchemas: [String]
    /// role → "schema.table" → privileges. A table not listed grants the role nothing.
    public var tables: [String: [String: TableGrant]]
    /// "schema.table" → the policies it may have. A user-owned table not listed may have the owner
    /// policies for the commands `authenticated` may run on it.
    public var policies: [String: [Policy]]
    /// role → schemas it may use (USAGE; CREATE is never allowed).
    public var schemaUsage: [String: Set<String>]
    /// role → "schema.function" it may execute.
    public var functions: [String: Set<String>]

    public init(schemas: [String], userSchemas: [String], tables: [String: [String: TableGrant]], policies: [String: [Policy]],
                schemaUsage: [String: Set<String>], functions: [String: Set<String>]) {
        self.schemas = schemas
        self.userSchemas = userSchemas
        self.tables = tables
        self.policies = policies
        self.schemaUsage = schemaUsage
        self.functions = functions
    }

    /// The roles whose privileges are audited: the two a client API hands to callers.
    public static let auditedRoles = ["anon", "authenticated"]

    /// The application's allowlist (migrations 002–010, 020–021, 030).
    public static let application: SchemaAllowlist = {
        // Migration 090: allow_unpriced, set by the owner like the budget; 100: is_default, set once at creation.
        let projects = TableGrant(select: .all, insert: .only(["name", "description", "budget_limit", "budget_period", "allow_unpriced", "is_default"]),
                                  update: .only(["name", "description", "budget_limit", "budget_period", "archived_at", "allow_unpriced"]),
                                  delete: true)
        let ledger = TableGrant(select: .all)
        let apiKeys = TableGrant(
            select: .only(["id", "user_id", "provider", "label", "ciphertext", "mask_prefix", "last4", "fingerprint", "status",
                           "last_checked_at", "last_used_at", "created_at", "updated_at"]),
            insert: .only(["id", "user_id", "provider", "label", "ciphertext", "key_version", "mask_prefix", "last4", "fingerprint",
                           "created_at", "updated_at"]),
            update: .only(["label", "status", "last_check_reason", "last_checked_at", "last_used_at", "updated_at"]), delete: true)
        // Migration 020: the router's per-user state. Configs carry a trigger-kept version; health and
        // rate buckets are upserted by the engine in the user's scope.
        let providerConfigs = TableGrant(select: .all,
                                         insert: .only(["provider", "enabled", "priority", "requests_per_minute", "monthly_budget", "default_models"]),
                                         update: .only(["enabled", "priority", "requests_per_minute", "monthly_budget", "default_models"]))
        let healthColumns: Set<String> = ["consecutive_failures", "last_error_code", "last_error_at", "last_success_at", "latency_ms",
                                          "reopen_at", "updated_at"]
        let providerHealth = TableGrant(select: .all, insert: .only(healthColumns.union(["provider"])), update: .only(healthColumns))
        let rateLimits = TableGrant(select: .all, insert: .only(["provider", "tokens", "blocked_until", "updated_at"]),
                                    update: .only(["tokens", "blocked_until", "updated_at"]))
        // Migration 021: the per-user monthly limit, and the scope ledger (read-only to users).
        let userBudgets = TableGrant(select: .all, insert: .only(["monthly_limit", "updated_at"]), update: .only(["monthly_limit", "updated_at"]))
        let scopeLedger = TableGrant(select: .all)
        // Generations and what hangs off them (migration 010): users read, the engine functions write.
        let engineTables = ["public.generations", "public.generation_attempts", "public.assets", "public.generation_events",
                            "public.idempotency_keys", "public.generation_batches",
                            // Migration 070: asset lineage, written only by app_engine.create_upload.
                            "public.asset_parents"]
        let engineRead = TableGrant(select: .all)
        func enginePolicies(_ table: String) -> [Policy] {
            var policies = ownerPolicies(for: engineRead)
                + [Policy(role: "app_engine_writer", command: "INSERT", using: nil, check: ownerExpression)]
            if table == "public.generations" || table == "public.idempotency_keys" || table == "public.generation_batches" {
                policies.append(Policy(role: "app_engine_writer", command: "UPDATE", using: ownerExpression, check: ownerExpression))
            }
            if table == "public.idempotency_keys" {
                policies.append(Policy(role: "app_engine_writer", command: "DELETE", using: ownerExpression, check: nil))
            }
            // Migration 070: PATCH, bulk edits and deletes of assets, through app_engine.update_asset / delete_assets.
            if table == "public.assets" {
                policies.append(Policy(role: "app_engine_writer", command: "UPDATE", using: ownerExpression, check: ownerExpression))
                policies.append(Policy(role: "app_engine_writer", command: "DELETE", using: ownerExpression, check: nil))
            }
            return policies
        }
        var authenticatedTables: [String: TableGrant] = [
            "public.projects": projects, "public.budget_ledger": ledger, "public.user_api_keys": apiKeys,
            "pricing.versions": TableGrant(select: .all),
            "public.provider_configs": providerConfigs, "public.provider_health": providerHealth,
            "public.provider_rate_limits": rateLimits, "public.user_budgets": userBudgets,
            "public.budget_scope_entries": scopeLedger, "public.budget_scope_totals": scopeLedger,
            "public.project_budget_totals": scopeLedger,
        ]
        var policies: [String: [Policy]] = [
            "public.projects": ownerPolicies(for: projects),
            "public.user_api_keys": ownerPolicies(for: apiKeys),
            // Users read their entries; only the ledger functions (running as app_ledger_writer) append.
            "public.budget_ledger": ownerPolicies(for: ledger)
                + [Policy(role: "app_ledger_writer", command: "INSERT", using: nil, check: ownerExpression)],
            "public.provider_configs": ownerPolicies(for: providerConfigs),
            "public.provider_health": ownerPolicies(for: providerHealth),
            "public.provider_rate_limits": ownerPolicies(for: rateLimits),
            "public.user_budgets": ownerPolicies(for: userBudgets),
            // As budget_ledger: users read, only the ledger functions append and keep the totals.
            "public.budget_scope_entries": ownerPolicies(for: scopeLedger)
                + [Policy(role: "app_ledger_writer", command: "INSERT", using: nil, check: ownerExpression)],
            "public.budget_scope_totals": ownerPolicies(for: scopeLedger)
                + [Policy(role: "app_ledger_writer", command: "INSERT", using: nil, check: ownerExpression),
                   Policy(role: "app_ledger_writer", command: "UPDATE", using: ownerExpression, check: ownerExpression)],
            // Migration 140: the project's summary row, written only by the ledger's trigger (as app_ledger_writer).
            "public.project_budget_totals": ownerPolicies(for: scopeLedger)
                + [Policy(role: "app_ledger_writer", command: "INSERT", using: nil, check: ownerExpression),
                   Policy(role: "app_ledger_writer", command: "UPDATE", using: ownerExpression, check: ownerExpression)],
            // Pricing is reference data, the same for every user: no per-user rule applies.
            "pricing.versions": [Policy(role: "authenticated", command: "SELECT", using: "true", check: nil)],
            // Migration 130: app_engine.session_state (running as app_session_reader) reads the caller's own session.
            "auth.sessions": [Policy(role: "app_session_reader", command: "SELECT", using: ownerExpression, check: nil)],
            "auth.users": [Policy(role: "app_session_reader", command: "SELECT", using: "(( SELECT auth.uid() AS uid) = id)", check: nil)],
        ]
        for table in engineTables {
            authenticatedTables[table] = engineRead
            policies[table] = enginePolicies(table)
        }
        return SchemaAllowlist(
            schemas: ["public", "auth", "pricing", "app_private", "app_ledger", "app_engine", "meta"],
            userSchemas: ["public"],
            tables: ["authenticated": authenticatedTables],
            policies: policies,
            schemaUsage: ["anon": ["public", "auth"], "authenticated": ["public", "auth", "pricing", "app_ledger", "app_engine"]],
            functions: [
                "anon": ["auth.uid", "auth.role", "auth.email", "auth.jwt"],
                "authenticated": ["auth.uid", "auth.role", "auth.email", "auth.jwt",
                                  "app_ledger.reserve", "app_ledger.settle", "app_ledger.release",
                                  "app_ledger.release_scoped", "app_ledger.hold_provider", "app_ledger.end_provider",
                                  "app_engine.create_generation", "app_engine.advance", "app_engine.record_attempt",
                                  "app_engine.add_asset", "app_engine.claim_idempotency_key", "app_engine.finish_idempotency_key",
                                  "app_engine.create_batch", "app_engine.request_batch_cancel", "app_engine.end_batch",
                                  "app_engine.create_upload", "app_engine.update_asset", "app_engine.delete_assets",
                                  "app_engine.set_thumbnail",
                                  // Migration 110: an attempt's end in one call (its admission half was replaced by 143).
                                  "app_engine.finish_generation",
                                  // Migration 135: an attempt's health and rate-limit report (run as the caller).
                                  "app_engine.record_health", "app_engine.observe_rate_limit", "app_engine.report_attempt",
                                  // Migration 130: admission in two round trips (the session, the first attempt's gate and key).
                                  "app_engine.session_state", "app_engine.take_rate_token", "app_engine.clear_first_attempt",
                                  // Migration 143: admission's second transaction, after the reservation committed.
                                  "app_engine.admit_reserved",
                                  // Migration 170: one project's reservations in one call.
                                  "app_ledger.reserve_group",
                                  // Migration 171: one project's ends in one call.
                                  "app_ledger.end_group", "app_engine.finish_group",
                                  // Migration 172: one project's admitted generations created in one call.
                                  "app_engine.admit_group",
                                  // Migration 176: a group's attempt reports in one call.
                                  "app_engine.report_attempts",
                                  // Migration 151: the end of a canceled batch item whose provider work may be billed.
                                  "app_engine.finish_canceled_item",
                                  // Migration 152: the charge of a canceled generation's failed call that reported usage.
                                  "app_engine.finish_canceled_call",
                                  // Migration 160: a canceled generation's provider work ended without a charge.
                                  "app_engine.end_provider_work",
                                  // Migration 180: a group's first-attempt clearances in one call.
                                  "app_engine.clear_first_attempts"],
            ])
    }()

    func grant(_ role: String, _ table: String) -> TableGrant {
        tables[role]?[table] ?? TableGrant()
    }
}

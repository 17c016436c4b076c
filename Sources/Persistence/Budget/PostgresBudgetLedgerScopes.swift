import Domain
import Foundation

/// The ledger across scopes (migration 021): one call reserves on the project, the user's monthly
/// limit and the provider configuration's monthly budget together, or on none. settle/release
/// end every scope the generation holds (the project-only `settle`/`release` do so too).
extension PostgresBudgetLedger {
    /// Holds `amount` on every scope at once. Not admitted: nothing was written, and
    /// `shortfall` names the scope that refused, its limit and what was missing.
    /// `provider` nil: the project and the user scope only (the provider is not chosen yet).
    public func reserve(project: UUID, generation: UUID, amount: Money, provider: ProviderID?, claimsJSON: String) throws -> ScopedReservation {
        let rows = try callRows(claimsJSON, """
            select scope, entry_id, admitted, fits, budget_limit, spent, reserved
            from app_ledger.reserve(\(project), \(generation), \(amount.amount)::numeric, \(provider?.rawValue)::text)
            """)
        guard let first = rows.first else { throw Refusal.notFound }
        return ScopedReservation(admitted: try first.decode("admitted"), scopes: try rows.map { try Self.figures($0) }, amount: amount)
    }

    /// Ends the reservation on every scope and charges `cost` on the project, the user scope and
    /// the provider scope of `provider` (the one that served it; nil: the reserved one).
    public func settle(generation: UUID, cost: Money, provider: ProviderID?, claimsJSON: String) throws -> [ScopeFigures] {
        try callRows(claimsJSON, """
            select scope, entry_id, budget_limit, spent, reserved from app_ledger.settle(\(generation), \(cost.amount)::numeric, \(provider?.rawValue)::text)
            """).map { try Self.figures($0) }
    }

    /// Ends the reservation on every scope without a charge; every scope's figures after it.
    public func releaseAll(generation: UUID, claimsJSON: String) throws -> [ScopeFigures] {
        try callRows(claimsJSON, """
            select scope, entry_id, budget_limit, spent, reserved from app_ledger.release_scoped(\(generation))
            """).map { try Self.figures($0) }
    }

    /// Moves the generation's provider-scope reservation to `provider` (migration 080): holds
    /// `amount` there and releases the provider scope held before, or, refused, writes nothing.
    /// The first row is the new scope's (`fits`: it had room).
    public func holdProvider(generation: UUID, amount: Money, provider: ProviderID, claimsJSON: String) throws -> ScopedReservation {
        let rows = try callRows(claimsJSON, """
            select scope, entry_id, admitted, fits, budget_limit, spent, reserved
            from app_ledger.hold_provider(\(generation), \(amount.amount)::numeric, \(provider.rawValue)::text)
            """)
        guard let first = rows.first else { throw Refusal.notFound }
        return ScopedReservation(admitted: try first.decode("admitted"), scopes: try rows.map { try Self.figures($0) }, amount: amount)
    }

    /// Ends the provider-scope reservation of a generation without a project reservation (a batch
    /// item), charging `cost` there when given; no rows when it holds none.
    public func endProviderScope(generation: UUID, cost: Money?, claimsJSON: String) throws -> [ScopeFigures] {
        try callRows(claimsJSON, """
            select scope, entry_id, budget_limit, spent, reserved from app_ledger.end_provider(\(generation), \(cost?.amount)::numeric)
            """).map { try Self.figures($0) }
    }

    /// The charge of a settled generation: its project charge, or for a batch item its provider
    /// scope's charge. nil: not charged (yet).
    public func charge(of generation: UUID, claimsJSON: String) throws -> Money? {
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, """
                select coalesce((select l.amount from public.budget_ledger l where l.generation_id = \(generation) and l.kind = 'charge'),
                                (select e.amount from public.budget_scope_entries e
                                 where e.generation_id = \(generation) and e.kind = 'charge' and e.scope like 'provider:%' limit 1)) as amount
                """)
        return try rows.first?.decodeIfPresent("amount", as: Decimal.self).map(Money.init(roundingToMaximumScale:))
    }

    /// The user and provider scopes' figures this month, from their summary rows in one
    /// statement (spent and reserved of one scope always from the same row version).
    public func scopeTotals(claimsJSON: String) throws -> [ScopeFigures] {
        try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, Self.scopeTotalsStatement).map { try Self.figures($0) }
    }

    static let scopeTotalsStatement: SQL = """
        select t.scope, null::uuid as entry_id,
               case when t.scope = 'user' then (select b.monthly_limit from public.user_budgets b)
                    else (select c.monthly_budget from public.provider_configs c where c.provider = substr(t.scope, 10)) end as budget_limit,
               case when t.period_start >= date_trunc('month', now(), 'UTC') then t.spent else 0 end as spent, t.reserved
        from public.budget_scope_totals t
        -- A monthly limit set before anything was reserved has no totals row yet: its scope is whole.
        union all
        select 'user', null::uuid, b.monthly_limit, 0, 0 from public.user_budgets b
        where b.monthly_limit is not null and not exists (select from public.budget_scope_totals t where t.scope = 'user')
        order by 1
        """

    /// The provider scopes of `scopeTotals`, by provider (absent: nothing spent or reserved yet).
    public func providerScopes(claimsJSON: String) throws -> [ProviderID: ScopeFigures] {
        var result: [ProviderID: ScopeFigures] = [:]
        for figures in try scopeTotals(claimsJSON: claimsJSON) {
            if case .provider(let provider) = figures.scope { result[provider] = figures }
        }
        return result
    }

    /// Sets (or with nil clears) the user's own monthly limit across all projects.
    public func setUserMonthlyLimit(_ limit: Money?, claimsJSON: String) throws {
        try pool.userScopeStatement(claimsJSON: claimsJSON, """
                insert into public.user_budgets as b (monthly_limit, updated_at) values (\(limit?.amount)::numeric, now())
                on conflict (user_id) do update set monthly_limit = excluded.monthly_limit, updated_at = excluded.updated_at
                """)
    }

    static func figures(_ row: PostgresRow) throws -> ScopeFigures {
        let name: String = try row.decode("scope")
        guard let scope = BudgetScope(ledgerName: name) else { throw DecodingFailure(column: "scope", expected: "budget scope") }
        let fits: Bool? = row.columns.contains("fits") ? try row.decode("fits") : nil
        return ScopeFigures(scope: scope, entryID: try row.decodeIfPresent("entry_id"),
                            limit: try row.decodeIfPresent("budget_limit", as: Decimal.self).map(Money.init(roundingToMaximumScale:)),
                            spent: Money(roundingToMaximumScale: try row.decode("spent")),
                            reserved: Money(roundingToMaximumScale: try row.decode("reserved")), fits: fits ?? true)
    }
}

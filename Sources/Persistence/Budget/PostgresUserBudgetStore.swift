import Domain
import Foundation

/// The user's monthly limit (`public.user_budgets`, migration 021) and the `user` scope's summary
/// row, as the user.
public struct PostgresUserBudgetStore: UserBudgetStore {
    let ledger: PostgresBudgetLedger

    public init(ledger: PostgresBudgetLedger) {
        self.ledger = ledger
    }

    /// One statement, so spent and reserved come from one version of the summary row.
    public func userBudget(claimsJSON: String) throws -> UserBudget {
        let rows = try ledger.pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, """
                select (select b.monthly_limit from public.user_budgets b) as budget_limit,
                       coalesce((select case when t.period_start >= date_trunc('month', now(), 'UTC') then t.spent else 0 end
                                 from public.budget_scope_totals t where t.scope = 'user'), 0) as spent,
                       coalesce((select t.reserved from public.budget_scope_totals t where t.scope = 'user'), 0) as reserved
                """)
        guard let row = rows.first else { return UserBudget(monthlyLimit: nil, spent: .zero, reserved: .zero) }
        return UserBudget(monthlyLimit: try row.decodeIfPresent("budget_limit", as: Decimal.self).map(Money.init(roundingToMaximumScale:)),
                          spent: Money(roundingToMaximumScale: try row.decode("spent")),
                          reserved: Money(roundingToMaximumScale: try row.decode("reserved")))
    }

    public func setUserMonthlyLimit(_ limit: Money?, claimsJSON: String) throws {
        try ledger.setUserMonthlyLimit(limit, claimsJSON: claimsJSON)
    }
}

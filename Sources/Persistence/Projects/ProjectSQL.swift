import Domain
import Foundation

/// The statements behind `PostgresProjectStore`, and the row mapping.
enum ProjectSQL {
    /// A project with its budget summary, read from its summary row (`public.project_budget_totals`,
    /// kept with the ledger in the same transaction; migration 140). The period starts at the first
    /// of the current UTC month (monthly) or at creation (total); spent is the charges since then,
    /// reserved the reservations not yet released whenever they were made (as `app_ledger.totals`
    /// counts them, which admits reservations against the same figures). No row: nothing booked yet.
    /// `updated_key` and `name_key` are the texts a cursor carries for either order.
    static let select: SQL = """
        select p.id, p.name, p.description, p.budget_limit, p.budget_period, p.archived_at, p.created_at, p.updated_at,
               p.version, p.allow_unpriced, b.period_start,
               coalesce(case when p.budget_period = 'monthly'
                             then case when t.month_start >= b.period_start then t.spent_month else 0 end
                             else t.spent_total end, 0) as spent,
               coalesce(t.reserved, 0) as reserved,
               (extract(epoch from p.updated_at) * 1000000)::bigint::text as updated_key, lower(p.name) as name_key
        from public.projects p
        cross join lateral (
            select case p.budget_period when 'monthly' then date_trunc('month', now(), 'UTC') else p.created_at end as period_start
        ) b
        left join public.project_budget_totals t on t.project_id = p.id
        """

    /// One row more than the page, so the store knows whether another page follows.
    static func list(_ query: ProjectListQuery) -> SQL {
        var filter: SQL = "true"
        switch query.archived {
        case .active: filter = "\(filter) and p.archived_at is null"
        case .archived: filter = "\(filter) and p.archived_at is not null"
        case .all: break
        }
        if let search = query.search {
            // Case-insensitive for all of Unicode: lower() under the ICU root collation (the C
            // locale folds only ASCII), the expression the trigram GIN index of migration 008 is
            // built on; %, _ and \ are literal.
            let pattern = "%" + escapeLike(search) + "%"
            filter = #"\#(filter) and lower(p.name collate "und-x-icu") like lower(\#(pattern) collate "und-x-icu")"#
        }
        let order: SQL
        switch query.sort {
        case .updatedAt:
            if let after = query.after {
                // Microseconds × 1 µs through float8 is exact below 2^53, which the cursor enforces.
                filter = """
                    \(filter) and (p.updated_at, p.id) < (timestamptz 'epoch' + \(Int64(after.key) ?? 0)::bigint * interval '1 microsecond', \(after.id))
                    """
            }
            order = "order by p.updated_at desc, p.id desc"
        case .name:
            if let after = query.after {
                filter = "\(filter) and (lower(p.name), p.id) > (\(after.key), \(after.id))"
            }
            order = "order by lower(p.name), p.id"
        }
        return "\(select) where \(filter) \(order) limit \(query.limit + 1)"
    }

    /// `version` and `updated_at` move on in the `projects_touch` trigger (migration 007), so the
    /// user needs no UPDATE privilege on them.
    static func update(id: UUID, _ changes: ProjectChanges, expectedVersion: Int64?) -> SQL {
        let (setDescription, description) = split(changes.description)
        let (setLimit, limit) = split(changes.budgetLimit)
        return """
            update public.projects set
                name = coalesce(\(changes.name), name),
                description = case when \(setDescription) then \(description) else description end,
                budget_limit = case when \(setLimit) then \(limit?.amount)::numeric else budget_limit end,
                budget_period = coalesce(\(changes.budgetPeriod?.rawValue), budget_period),
                allow_unpriced = coalesce(\(changes.allowUnpriced)::boolean, allow_unpriced),
                archived_at = case \(changes.archived)::boolean when true then coalesce(archived_at, now())
                                  when false then null else archived_at end
            where id = \(id) and (\(expectedVersion)::bigint is null or version = \(expectedVersion)::bigint)
            returning id
            """
    }

    static func matchWithoutChange(id: UUID, expectedVersion: Int64?) -> SQL {
        "select id from public.projects where id = \(id) and (\(expectedVersion)::bigint is null or version = \(expectedVersion)::bigint)"
    }

    static func project(from row: PostgresRow) throws -> Project {
        try project(from: row, ProjectColumns(row))
    }

    /// The rows of one result, its columns found once (by the first row) for all of them.
    static func projects(from rows: some Collection<PostgresRow>) throws -> [Project] {
        try rows.mappedByColumns(ProjectColumns.init, project(from:_:))
    }

    private static func project(from row: PostgresRow, _ columns: ProjectColumns) throws -> Project {
        let limit = try row.decodeIfPresent(columns.budgetLimit, as: Decimal.self).map(Money.init(roundingToMaximumScale:))
        let period = try row.decode(columns.budgetPeriod, as: PostgresCase<BudgetPeriod>.self).value ?? .total
        return Project(
            id: try row.decode(columns.id), name: try row.decode(columns.name), description: try row.decodeIfPresent(columns.description),
            archivedAt: try row.decodeIfPresent(columns.archivedAt), createdAt: try row.decode(columns.createdAt),
            updatedAt: try row.decode(columns.updatedAt), version: try row.decode(columns.version),
            budget: BudgetSummary(limit: limit, period: period,
                                  spent: Money(roundingToMaximumScale: try row.decode(columns.spent)),
                                  reserved: Money(roundingToMaximumScale: try row.decode(columns.reserved)),
                                  periodStart: try row.decode(columns.periodStart)),
            allowUnpriced: try row.decode(columns.allowUnpriced))
    }

    /// The columns `project(from:)` reads, by position in one result.
    private struct ProjectColumns {
        let id, name, description, budgetLimit, budgetPeriod, archivedAt, createdAt, updatedAt, version, spent, reserved,
            periodStart, allowUnpriced: PostgresColumn

        init(_ row: PostgresRow) throws {
            id = try row.column("id")
            name = try row.column("name")
            description = try row.column("description")
            budgetLimit = try row.column("budget_limit")
            budgetPeriod = try row.column("budget_period")
            archivedAt = try row.column("archived_at")
            createdAt = try row.column("created_at")
            updatedAt = try row.column("updated_at")
            version = try row.column("version")
            spent = try row.column("spent")
            reserved = try row.column("reserved")
            periodStart = try row.column("period_start")
            allowUnpriced = try row.column("allow_unpriced")
        }
    }

    /// `like` pattern with the user's text matched literally (backslash is the default escape).
    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    private static func split<T>(_ update: FieldUpdate<T>) -> (Bool, T?) {
        switch update {
        case .unchanged: return (false, nil)
        case .clear: return (true, nil)
        case .set(let value): return (true, value)
        }
    }
}

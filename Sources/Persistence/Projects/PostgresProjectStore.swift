import Domain
import Foundation

/// `ProjectStore` on `public.projects`. Every statement runs in the caller's user scope, so RLS
/// alone decides which rows exist for them: another user's project is simply absent.
public struct PostgresProjectStore: ProjectStore {
    let pool: ConnectionPool

    /// Projects one user may have (PROJECTS_PER_USER); the default project the chat surface makes is not held to it.
    let maximumProjectsPerUser: Int

    public init(pool: ConnectionPool, maximumProjectsPerUser: Int = 1000) {
        self.pool = pool
        self.maximumProjectsPerUser = maximumProjectsPerUser
    }

    public func create(_ project: NewProject, as identity: AuthenticatedIdentity) throws -> Project {
        try pool.withUserScope(claimsJSON: identity.claimsJSON) { transaction in
            // One of the user's creations at a time, so the count below cannot be passed by two at once.
            try transaction.query(UserLocks.lock("projects"))
            let rows = try transaction.query("""
                insert into public.projects (name, description, budget_limit, budget_period, allow_unpriced)
                select \(project.name), \(project.description), \(project.budgetLimit?.amount)::numeric, \(project.budgetPeriod.rawValue),
                       \(project.allowUnpriced)
                where (select count(*) from public.projects p where p.user_id = (select auth.uid()) and not p.is_default) < \(maximumProjectsPerUser)
                returning id
                """)
            guard let row = rows.first else {
                throw DomainError.conflict(code: "project_limit_reached",
                                           detail: "An account may have at most \(maximumProjectsPerUser) projects; delete one to make another.")
            }
            guard let created = try Self.fetch(transaction, id: try row.decode("id")) else { throw DomainError.notFound(resource: "project") }
            return created
        }
    }

    public func project(id: UUID, as identity: AuthenticatedIdentity) throws -> Project? {
        try pool.userScopeStatement(claimsJSON: identity.claimsJSON, readOnly: true, "\(ProjectSQL.select) where p.id = \(id)")
            .first.map(ProjectSQL.project(from:))
    }

    public func list(_ query: ProjectListQuery, as identity: AuthenticatedIdentity) throws -> ProjectPage {
        let rows = try pool.userScopeStatement(claimsJSON: identity.claimsJSON, readOnly: true, ProjectSQL.list(query))
        return try ProjectPageMemo.page(of: rows, query: query, user: identity.userID) { try Self.page(of: rows, query) }
    }

    /// The page in `rows`, which hold one row more than the page when another page follows.
    static func page(of rows: [PostgresRow], _ query: ProjectListQuery) throws -> ProjectPage {
        let projects = try ProjectSQL.projects(from: rows.prefix(query.limit))
        var next: ProjectCursor?
        if rows.count > query.limit, let last = rows.prefix(query.limit).last {
            let key: String = try last.decode(query.sort == .updatedAt ? "updated_key" : "name_key")
            next = ProjectCursor(sort: query.sort, key: key, id: try last.decode("id"))
        }
        return ProjectPage(items: projects, next: next)
    }

    public func update(id: UUID, _ changes: ProjectChanges, expectedVersion: Int64?,
                       as identity: AuthenticatedIdentity) throws -> ProjectWriteOutcome<Project> {
        try pool.withUserScope(claimsJSON: identity.claimsJSON) { transaction -> ProjectWriteOutcome<Project> in
            // An empty change set writes nothing (no new version), but still honours If-Match.
            let statement = changes.isEmpty
                ? ProjectSQL.matchWithoutChange(id: id, expectedVersion: expectedVersion)
                : ProjectSQL.update(id: id, changes, expectedVersion: expectedVersion)
            guard try !transaction.query(statement).isEmpty else {
                return try Self.missOutcome(transaction, id: id)
            }
            guard let project = try Self.fetch(transaction, id: id) else { return .notFound }
            return .done(project)
        }
    }

    public func delete(id: UUID, expectedVersion: Int64?, as identity: AuthenticatedIdentity) throws -> ProjectWriteOutcome<[String]> {
        try pool.withUserScope(claimsJSON: identity.claimsJSON) { transaction -> ProjectWriteOutcome<[String]> in
            // The row lock is the one admission's reservation takes (app_ledger.reserve), so no
            // reservation can slip in between this check and the delete.
            let busy = try transaction.query("""
                select exists (select from public.generations g where g.project_id = p.id and g.status in ('queued', 'running'))
                       or exists (select from public.budget_ledger l
                                  where l.user_id = p.user_id and l.project_id = p.id and l.kind = 'reservation'
                                    and not exists (select from public.budget_ledger e
                                                    where e.generation_id = l.generation_id and e.kind in ('release', 'charge'))) as busy
                from public.projects p where p.id = \(id) for update of p
                """)
            if let row = busy.first, try row.decode("busy", as: Bool.self) { return .busy }
            // Exact under the row lock: an upload holds the project FOR KEY SHARE while it writes
            // its row, and a generation's outputs are written only while it runs (busy above).
            let keys = try transaction.query("""
                select a.storage_key as key from public.assets a where a.user_id = (select auth.uid()) and a.project_id = \(id)
                union
                select a.thumbnail_key from public.assets a
                where a.user_id = (select auth.uid()) and a.project_id = \(id) and a.thumbnail_key is not null
                """).map { try $0.decode("key", as: String.self) }
            let deleted = try transaction.query("""
                delete from public.projects
                where id = \(id) and (\(expectedVersion)::bigint is null or version = \(expectedVersion)::bigint)
                returning id
                """)
            return deleted.isEmpty ? try Self.missOutcome(transaction, id: id) : .done(keys)
        }
    }

    /// A write that touched no row: either the row is not visible (404) or its version moved on (412).
    private static func missOutcome<T>(_ transaction: borrowing Transaction, id: UUID) throws -> ProjectWriteOutcome<T> {
        try transaction.query("select 1 from public.projects where id = \(id)").isEmpty ? .notFound : .versionMismatch
    }

    private static func fetch(_ transaction: borrowing Transaction, id: UUID) throws -> Project? {
        try transaction.query("\(ProjectSQL.select) where p.id = \(id)").first.map(ProjectSQL.project(from:))
    }
}

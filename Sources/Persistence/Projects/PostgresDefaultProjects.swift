import Domain
import Foundation

/// `DefaultProjectStore` on `public.projects.is_default` (migration 100), in the user's scope.
public struct PostgresDefaultProjects: DefaultProjectStore {
    let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    /// One statement finds or makes it: the insert yields nothing when the user already has one
    /// (the partial unique index), and the second half finds that one. Two first requests racing
    /// both end with the same project.
    public func defaultProject(claimsJSON: String) throws -> UUID {
        try pool.withUserScope(claimsJSON: claimsJSON) { transaction in
            let rows = try transaction.query("""
                with made as (
                    insert into public.projects (name, description, is_default)
                    values (\(Self.name), \(Self.description), true)
                    on conflict (user_id) where is_default do nothing
                    returning id)
                select id from made
                union all
                select id from public.projects where is_default and user_id = (select auth.uid())
                limit 1
                """)
            guard let row = rows.first else { throw DomainError.notFound(resource: "project") }
            return try row.decode("id")
        }
    }

    static let name = "Default"
    static let description = "Charged by /v1/chat/completions requests that send no X-Project-Id."
}

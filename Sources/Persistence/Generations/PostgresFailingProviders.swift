import Domain
import Foundation

/// Providers whose circuit is due for a trial (open, with its cooldown over), across users: the
/// background re-test checks them with the free key check rather than waiting for a generation.
public struct PostgresFailingProviders: Sendable {
    let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    /// At most `limit`, the longest-waiting first.
    public func due(limit: Int) throws -> [(userID: UUID, provider: ProviderID)] {
        let rows = try pool.serviceRoleStatement("""
                select h.user_id, h.provider from public.provider_health h
                where h.reopen_at is not null and h.reopen_at <= now() and h.provider <> 'local'
                order by h.reopen_at limit \(limit)
                """)
        return try rows.compactMap { row in
            guard let provider = ProviderID(rawValue: try row.decode("provider", as: String.self)) else { return nil }
            return (try row.decode("user_id"), provider)
        }
    }
}

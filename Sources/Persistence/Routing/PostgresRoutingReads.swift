import Domain
import Foundation

/// The router's five reads of a caller's routing state (configurations, health, usable keys,
/// rate buckets, provider budget figures) in one read-only transaction and ONE round trip, rather
/// than one transaction per store. Each result is read as its own store reads it.
public struct PostgresRoutingReads: Sendable {
    let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    public func reads(for identity: AuthenticatedIdentity) throws -> RoutingReads {
        let results = try pool.userScopeRoundTrip(claimsJSON: identity.claimsJSON, readOnly: true, [
            "select \(PostgresProviderConfigStore.columns) from public.provider_configs order by provider",
            "select \(PostgresProviderHealthStore.columns) from public.provider_health",
            // As KeyVault.list filtered by the router: providers with a key not known to be invalid.
            "select distinct provider from public.user_api_keys where status <> 'invalid'",
            "select provider, tokens, updated_at, blocked_until from public.provider_rate_limits",
            PostgresBudgetLedger.scopeTotalsStatement,
        ])
        guard results.count == 5 else { throw DecodingFailure(column: "routing reads", expected: "five results") }
        var health: [ProviderID: ProviderHealthState] = [:]
        for row in results[1] {
            if let provider = ProviderID(rawValue: try row.decode("provider")) { health[provider] = try PostgresProviderHealthStore.state(from: row) }
        }
        var buckets: [ProviderID: TokenBucket] = [:]
        for row in results[3] {
            if let provider = ProviderID(rawValue: try row.decode("provider")) { buckets[provider] = try PostgresRateLimitStore.bucket(from: row) }
        }
        var remaining: [ProviderID: Money] = [:]
        for figures in try results[4].map({ try PostgresBudgetLedger.figures($0) }) {
            if case .provider(let provider) = figures.scope, let left = figures.remaining { remaining[provider] = left }
        }
        return RoutingReads(configs: try results[0].compactMap(PostgresProviderConfigStore.config(from:)), health: health,
                            usableKeys: Set(try results[2].compactMap { ProviderID(rawValue: try $0.decode("provider")) }),
                            buckets: buckets, providerBudgetRemaining: remaining)
    }
}

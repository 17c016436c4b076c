import Domain
import Foundation

/// `RateLimitStore` on `public.provider_rate_limits`: one row per user and provider, taken and
/// taught in one statement each, so every process draws from the same bucket. The arithmetic is
/// `TokenBucket`'s (refill at rpm/60 per second up to rpm, never for time going backwards).
public struct PostgresRateLimitStore: RateLimitStore {
    let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    public func acquire(provider: ProviderID, requestsPerMinute rpm: Int?, at now: Date, claimsJSON: String) throws -> TokenBucket.Acquisition {
        // The take in one round trip (app_engine.take_rate_token, also what admission takes the
        // first attempt's token with; without a rate it only reads the bucket, migration 174); only a
        // refusal reads the bucket again (nothing was written, so reading it in a transaction of its
        // own changes nothing).
        let taken = try pool.userScopeStatement(claimsJSON: claimsJSON, """
            select tokens, updated_at, blocked_until from app_engine.take_rate_token(\(provider.rawValue), \(rpm)::integer, \(now)::timestamptz)
            """)
        if let row = taken.first { return .granted(try Self.bucket(from: row)) }
        // Refused: say when a request will be possible.
        guard let row = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, """
            select tokens, updated_at, blocked_until from public.provider_rate_limits where provider = \(provider.rawValue)
            """).first else { return .refused(retryAt: now) }
        return .refused(retryAt: try Self.bucket(from: row).availableAt(now, requestsPerMinute: rpm))
    }

    public func observe(_ observation: RateLimitObservation, provider: ProviderID, requestsPerMinute rpm: Int?, at now: Date,
                        claimsJSON: String) throws {
        guard !observation.isEmpty else { return }
        // The same upsert as an engine attempt's report (migration 135), with the caller's rate.
        try pool.userScopeStatement(claimsJSON: claimsJSON, """
                select app_engine.observe_rate_limit(\(provider.rawValue), \(rpm)::integer, \(observation.remainingRequests.map(Double.init))::float8,
                                                     \(observation.blockedUntil)::timestamptz, \(now)::timestamptz)
                """)
    }

    public func buckets(claimsJSON: String) throws -> [ProviderID: TokenBucket] {
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true,
            "select provider, tokens, updated_at, blocked_until from public.provider_rate_limits")
        var result: [ProviderID: TokenBucket] = [:]
        for row in rows {
            if let provider = ProviderID(rawValue: try row.decode("provider")) { result[provider] = try Self.bucket(from: row) }
        }
        return result
    }

    static func bucket(from row: PostgresRow) throws -> TokenBucket {
        TokenBucket(tokens: try row.decode("tokens"), updatedAt: try row.decode("updated_at"), blockedUntil: try row.decodeIfPresent("blocked_until"))
    }
}

import Domain
import Foundation

/// `ProviderHealthStore` on `public.provider_health`: every attempt is one upsert whose SET
/// clauses are `ProviderHealthState.recording(_:at:policy:)` written in SQL, applied to the row as it is
/// under the row lock, so concurrent attempts from any number of processes never lose an update.
/// `ProviderHealthStoreTests` holds the two equal over sequences of outcomes.
public struct PostgresProviderHealthStore: ProviderHealthStore {
    let pool: ConnectionPool
    let policy: HealthPolicy

    public init(pool: ConnectionPool, policy: HealthPolicy = .standard) {
        self.pool = pool
        self.policy = policy
    }

    static let columns: SQL = "provider, consecutive_failures, last_error_code, last_error_at, last_success_at, latency_ms, reopen_at"

    public func record(_ outcome: AttemptOutcome, provider: ProviderID, at now: Date, claimsJSON: String) throws -> ProviderHealthState {
        let statement: SQL
        switch outcome {
        case .success(let latency):
            let sample = max(0, latency.isFinite ? latency * 1000 : 0)
            statement = """
                insert into public.provider_health as h (provider, consecutive_failures, last_success_at, latency_ms, reopen_at, updated_at)
                values (\(provider.rawValue), 0, \(now)::timestamptz, \(sample)::float8, null, \(now)::timestamptz)
                on conflict (user_id, provider) do update
                set consecutive_failures = 0, last_success_at = excluded.last_success_at, reopen_at = null, updated_at = excluded.updated_at,
                    latency_ms = case when h.latency_ms is null then excluded.latency_ms
                                      else h.latency_ms * (1 - \(policy.latencyWeight)::float8) + excluded.latency_ms * \(policy.latencyWeight)::float8 end
                returning \(Self.columns)
                """
        case .failure(let rawCode, let retryable):
            let code = String(rawCode.prefix(ProviderHealthState.maximumCodeLength))
            let reopen = now.addingTimeInterval(policy.cooldown)
            statement = """
                insert into public.provider_health as h (provider, consecutive_failures, last_error_code, last_error_at, reopen_at, updated_at)
                values (\(provider.rawValue), case when \(retryable) then 1 else 0 end, \(code), \(now)::timestamptz,
                        case when \(retryable) and 1 >= \(policy.failureThreshold) then \(reopen)::timestamptz end, \(now)::timestamptz)
                on conflict (user_id, provider) do update
                set last_error_code = excluded.last_error_code, last_error_at = excluded.last_error_at, updated_at = excluded.updated_at,
                    consecutive_failures = case when \(retryable) then least(h.consecutive_failures, 2147483646) + 1 else h.consecutive_failures end,
                    reopen_at = case when not \(retryable) then h.reopen_at
                                     when h.reopen_at is not null and \(now)::timestamptz < h.reopen_at then h.reopen_at
                                     when h.reopen_at is not null then \(reopen)::timestamptz
                                     when h.consecutive_failures + 1 >= \(policy.failureThreshold) then \(reopen)::timestamptz
                                     end
                returning \(Self.columns)
                """
        }
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, statement)
        guard let row = rows.first else { throw DecodingFailure(column: "provider_health", expected: "row") }
        return try Self.state(from: row)
    }

    public func claimTrial(provider: ProviderID, at now: Date, claimsJSON: String) throws -> Bool {
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, """
                update public.provider_health set reopen_at = \(now.addingTimeInterval(policy.cooldown))::timestamptz, updated_at = \(now)::timestamptz
                where provider = \(provider.rawValue) and reopen_at is not null and reopen_at <= \(now)::timestamptz
                returning 1
                """)
        return !rows.isEmpty
    }

    public func health(claimsJSON: String) throws -> [ProviderID: ProviderHealthState] {
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, "select \(Self.columns) from public.provider_health")
        var result: [ProviderID: ProviderHealthState] = [:]
        for row in rows {
            if let provider = ProviderID(rawValue: try row.decode("provider")) { result[provider] = try Self.state(from: row) }
        }
        return result
    }

    static func state(from row: PostgresRow) throws -> ProviderHealthState {
        ProviderHealthState(consecutiveFailures: try row.decode("consecutive_failures"), lastErrorCode: try row.decodeIfPresent("last_error_code"),
                            lastErrorAt: try row.decodeIfPresent("last_error_at"), lastSuccessAt: try row.decodeIfPresent("last_success_at"),
                            latencyMilliseconds: try row.decodeIfPresent("latency_ms"), reopenAt: try row.decodeIfPresent("reopen_at"))
    }
}

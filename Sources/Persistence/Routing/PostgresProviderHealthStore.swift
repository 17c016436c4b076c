import Domain
import Foundation

/// `ProviderHealthStore` on `public.provider_health`: every attempt is one upsert
/// (`app_engine.record_health`, migration 135, also what the engine's attempt reports run) whose
/// SET clauses are `ProviderHealthState.recording(_:at:policy:)` written in SQL, applied to the row
/// as it is under the row lock, so concurrent attempts from any number of processes never lose an
/// update. `ProviderRoutingStoreTests` holds the two equal over sequences of outcomes.
public struct PostgresProviderHealthStore: ProviderHealthStore {
    let pool: ConnectionPool
    let policy: HealthPolicy

    public init(pool: ConnectionPool, policy: HealthPolicy = .standard) {
        self.pool = pool
        self.policy = policy
    }

    static let columns: SQL = "provider, consecutive_failures, last_error_code, last_error_at, last_success_at, latency_ms, reopen_at"

    public func record(_ outcome: AttemptOutcome, provider: ProviderID, at now: Date, claimsJSON: String) throws -> ProviderHealthState {
        let report = AttemptReport(provider: provider, outcome: outcome, rateLimit: nil, policy: policy, at: now)
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, """
                select \(Self.columns) from app_engine.record_health(
                    \(AttemptReportSQL.healthArguments(report)))
                """)
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

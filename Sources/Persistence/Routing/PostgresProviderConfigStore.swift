import Domain
import Foundation

/// `ProviderConfigStore` on `public.provider_configs`, in the caller's user scope.
public struct PostgresProviderConfigStore: ProviderConfigStore {
    let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    static let columns: SQL = "provider, enabled, priority, requests_per_minute, monthly_budget, default_models::text as default_models, version, updated_at"

    public func configs(as identity: AuthenticatedIdentity) throws -> [ProviderConfig] {
        try pool.userScopeStatement(claimsJSON: identity.claimsJSON, readOnly: true,
                                    "select \(Self.columns) from public.provider_configs order by provider").compactMap(Self.config(from:))
    }

    public func put(_ provider: ProviderID, _ settings: ProviderConfigSettings, expectedVersion: Int64?,
                    as identity: AuthenticatedIdentity) throws -> ProviderConfig? {
        let models = try Self.modelsJSON(settings.defaultModels)
        return try pool.withUserScope(claimsJSON: identity.claimsJSON) { transaction -> ProviderConfig? in
            let rows: [PostgresRow]
            switch expectedVersion {
            case 0?:
                // If-Match named the defaults: only an insert satisfies it.
                rows = try transaction.query("""
                    insert into public.provider_configs (provider, enabled, priority, requests_per_minute, monthly_budget, default_models)
                    values (\(provider.rawValue), \(settings.enabled), \(settings.priority), \(settings.requestsPerMinute)::integer,
                            \(settings.monthlyBudget?.amount)::numeric, \(models)::jsonb)
                    on conflict (user_id, provider) do nothing
                    returning \(Self.columns)
                    """)
            case let version?:
                rows = try transaction.query("""
                    update public.provider_configs
                    set enabled = \(settings.enabled), priority = \(settings.priority), requests_per_minute = \(settings.requestsPerMinute)::integer,
                        monthly_budget = \(settings.monthlyBudget?.amount)::numeric, default_models = \(models)::jsonb
                    where provider = \(provider.rawValue) and version = \(version)
                    returning \(Self.columns)
                    """)
            case nil:
                rows = try transaction.query("""
                    insert into public.provider_configs as c (provider, enabled, priority, requests_per_minute, monthly_budget, default_models)
                    values (\(provider.rawValue), \(settings.enabled), \(settings.priority), \(settings.requestsPerMinute)::integer,
                            \(settings.monthlyBudget?.amount)::numeric, \(models)::jsonb)
                    on conflict (user_id, provider) do update
                    set enabled = excluded.enabled, priority = excluded.priority, requests_per_minute = excluded.requests_per_minute,
                        monthly_budget = excluded.monthly_budget, default_models = excluded.default_models
                    returning \(Self.columns)
                    """)
            }
            return try rows.first.flatMap(Self.config(from:))
        }
    }

    static func modelsJSON(_ models: [MediaKind: String]) throws -> String {
        let object = Dictionary(uniqueKeysWithValues: models.map { ($0.key.rawValue, $0.value) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(object), as: UTF8.self)
    }

    /// nil for a provider this build does not know (a row written by a newer version).
    static func config(from row: PostgresRow) throws -> ProviderConfig? {
        guard let provider = ProviderID(rawValue: try row.decode("provider")) else { return nil }
        let stored = try JSONDecoder().decode([String: String].self, from: Data(try row.decode("default_models", as: String.self).utf8))
        var models: [MediaKind: String] = [:]
        for (kind, model) in stored {
            if let kind = MediaKind(rawValue: kind) { models[kind] = model }
        }
        return ProviderConfig(provider: provider, enabled: try row.decode("enabled"), priority: try row.decode("priority"),
                              requestsPerMinute: try row.decodeIfPresent("requests_per_minute"),
                              monthlyBudget: try row.decodeIfPresent("monthly_budget", as: Decimal.self).map(Money.init(roundingToMaximumScale:)),
                              defaultModels: models, version: try row.decode("version"), updatedAt: try row.decode("updated_at"))
    }
}

import Foundation

/// A user's settings for one provider, as `GET/PUT /v1/provider-configs/{provider}` show them and
/// as the route planner reads them. A provider the user never configured has `defaults(for:)`.
public struct ProviderConfig: Sendable, Equatable {
    public let provider: ProviderID
    public var enabled: Bool
    /// Lower comes first; ties are broken by the catalog's order.
    public var priority: Int
    /// Our own limit for the user's credential; nil: only the provider's learned limits apply.
    public var requestsPerMinute: Int?
    /// USD per UTC calendar month; nil: no limit.
    public var monthlyBudget: Money?
    /// The model used for a media kind when a request names none.
    public var defaultModels: [MediaKind: String]
    /// Incremented by every write (the ETag); 0 for defaults never stored.
    public let version: Int64
    public let updatedAt: Date?

    public static let defaultPriority = 100
    public static let priorityRange = 0...1000
    public static let requestsPerMinuteRange = 1...100_000

    public init(provider: ProviderID, enabled: Bool = true, priority: Int = ProviderConfig.defaultPriority,
                requestsPerMinute: Int? = nil, monthlyBudget: Money? = nil, defaultModels: [MediaKind: String] = [:],
                version: Int64 = 0, updatedAt: Date? = nil) {
        self.provider = provider
        self.enabled = enabled
        self.priority = priority
        self.requestsPerMinute = requestsPerMinute
        self.monthlyBudget = monthlyBudget
        self.defaultModels = defaultModels
        self.version = version
        self.updatedAt = updatedAt
    }

    public static func defaults(for provider: ProviderID) -> ProviderConfig {
        ProviderConfig(provider: provider)
    }

    /// Strong, and changes with every stored write.
    public var etag: EntityTag { EntityTag("v\(version)") }
}

/// What a `PUT` sets: the whole configuration (members left out take their defaults).
public struct ProviderConfigSettings: Sendable, Equatable {
    public var enabled: Bool
    public var priority: Int
    public var requestsPerMinute: Int?
    public var monthlyBudget: Money?
    public var defaultModels: [MediaKind: String]

    public init(enabled: Bool = true, priority: Int = ProviderConfig.defaultPriority, requestsPerMinute: Int? = nil,
                monthlyBudget: Money? = nil, defaultModels: [MediaKind: String] = [:]) {
        self.enabled = enabled
        self.priority = priority
        self.requestsPerMinute = requestsPerMinute
        self.monthlyBudget = monthlyBudget
        self.defaultModels = defaultModels
    }
}

/// Storage of provider configurations, acting as the given user (RLS decides what is visible).
public protocol ProviderConfigStore: Sendable {
    /// The user's stored configurations (providers never configured are absent).
    func configs(as identity: AuthenticatedIdentity) throws -> [ProviderConfig]
    /// Creates or replaces; `expectedVersion` (from If-Match) requires the stored row at that
    /// version (0: requires that none is stored). nil when the condition failed.
    func put(_ provider: ProviderID, _ settings: ProviderConfigSettings, expectedVersion: Int64?,
             as identity: AuthenticatedIdentity) throws -> ProviderConfig?
}

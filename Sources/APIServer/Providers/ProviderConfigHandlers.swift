import Domain
import Foundation

/// `/v1/provider-configs`: decode, one use case, encode. Single configurations carry an `ETag`;
/// `PUT` honours `If-Match`.
struct ProviderConfigHandlers: Sendable {
    let service: ProviderConfigService
    let authenticator: Authenticator

    func list(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let usage = try service.monthlyUsage(as: identity)
        return try .json(ProviderConfigListBody(data: try service.list(as: identity).map { ProviderConfigBody($0, usage: usage[$0.provider]) }))
    }

    func get(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let config = try service.get(provider: request.pathParameters["provider"] ?? "", as: identity)
        return try Self.respond(config, usage: try service.monthlyUsage(as: identity)[config.provider])
    }

    func put(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let ifMatch: IfMatch?
        do {
            ifMatch = try IfMatch.parse(request.header("if-match"))
        } catch {
            throw Problem(status: 400, code: "invalid_if_match", title: "Bad Request",
                          detail: "If-Match must be * or a list of entity tags such as \"v3\", as an ETag header gave them.")
        }
        // The members as sent (null kept apart from absent); `decodeBody` refuses any other member.
        let body = try request.decodeBody(ProjectFields<ProviderConfigKeys>.self).members
        let config = try service.put(provider: request.pathParameters["provider"] ?? "", body, ifMatch: ifMatch, as: identity)
        return try Self.respond(config, usage: try service.monthlyUsage(as: identity)[config.provider])
    }

    /// The ETag covers the stored configuration only: spend moves without a new version.
    private static func respond(_ config: ProviderConfig, usage: ScopeFigures?) throws -> HTTPResponse {
        var response = try HTTPResponse.json(ProviderConfigBody(config, usage: usage))
        response.headers.append(("ETag", config.etag.header))
        return response
    }
}

/// The members of `PUT /v1/provider-configs/{provider}`.
enum ProviderConfigKeys: String, CodingKey, CaseIterable {
    case enabled, priority
    case requestsPerMinute = "requests_per_minute"
    case monthlyBudget = "monthly_budget"
    case defaultModels = "default_models"
}

private struct ProviderConfigListBody: Encodable {
    let data: [ProviderConfigBody]
}

/// A configuration on the wire; every key always present (null when unset).
struct ProviderConfigBody: Encodable {
    let provider: String
    let enabled: Bool
    let priority: Int
    let requestsPerMinute: Int?
    let monthlyBudget: Money?
    let defaultModels: [String: String]
    let version: Int64
    let updatedAt: Date?
    let usage: MonthlyUsageBody

    init(_ config: ProviderConfig, usage: ScopeFigures?) {
        self.usage = MonthlyUsageBody(limit: config.monthlyBudget, spent: usage?.spent ?? .zero, reserved: usage?.reserved ?? .zero)
        provider = config.provider.rawValue
        enabled = config.enabled
        priority = config.priority
        requestsPerMinute = config.requestsPerMinute
        monthlyBudget = config.monthlyBudget
        defaultModels = Dictionary(uniqueKeysWithValues: config.defaultModels.map { ($0.key.rawValue, $0.value) })
        version = config.version
        updatedAt = config.updatedAt
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(provider, forKey: .provider)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(priority, forKey: .priority)
        try container.encode(requestsPerMinute, forKey: .requestsPerMinute)
        try container.encode(monthlyBudget, forKey: .monthlyBudget)
        try container.encode(defaultModels, forKey: .defaultModels)
        try container.encode(version, forKey: .version)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(usage, forKey: .usage)
    }

    enum CodingKeys: String, CodingKey {
        case provider, enabled, priority, requestsPerMinute, monthlyBudget, defaultModels, version, updatedAt, usage
    }
}

/// This UTC month's spend on the provider across projects, from the ledger.
struct MonthlyUsageBody: Encodable {
    let spent: Money
    let reserved: Money
    /// limit − spent − reserved; null without a monthly budget.
    let remaining: Money?

    init(limit: Money?, spent: Money, reserved: Money) {
        self.spent = spent
        self.reserved = reserved
        remaining = limit.map { $0 - spent - reserved }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(spent, forKey: .spent)
        try container.encode(reserved, forKey: .reserved)
        try container.encode(remaining, forKey: .remaining)
    }

    enum CodingKeys: String, CodingKey {
        case spent, reserved, remaining
    }
}

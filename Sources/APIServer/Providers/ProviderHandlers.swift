import Domain
import Foundation
import Providers

/// `GET /v1/providers`: every provider, what it can make, with which models and parameters, and
/// its health as the caller's own attempts saw it.
struct ProviderHandlers: Sendable {
    let registry: ProviderRegistry
    let authenticator: Authenticator
    let router: ProviderRouter

    func list(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        var kind: MediaKind?
        if let text = request.query["kind"] {
            guard let wanted = MediaKind(rawValue: text) else {
                throw DomainError.validation([FieldError(field: "kind", code: "invalid",
                                                         message: "kind must be one of \(MediaKind.allCases.map(\.rawValue).joined(separator: ", "))")])
            }
            kind = wanted
        }
        let health = try router.health(for: identity)
        return .json(bytes: try ProviderCatalogJSON.body(of: registry.catalog(), kind: kind, health: health, at: Date()))
    }
}

/// The caller's view of one provider's health; every key always present (null when unknown).
struct ProviderHealthBody: Encodable {
    let status: String
    let circuit: String
    let consecutiveFailures: Int
    let lastErrorCode: String?
    let lastErrorAt: Date?
    let lastSuccessAt: Date?
    let latencyMs: Double?
    let reopenAt: Date?

    init(_ health: ProviderHealthState, at now: Date) {
        status = health.status(at: now).rawValue
        circuit = health.circuit(at: now).rawValue
        consecutiveFailures = health.consecutiveFailures
        lastErrorCode = health.lastErrorCode
        lastErrorAt = health.lastErrorAt
        lastSuccessAt = health.lastSuccessAt
        latencyMs = health.latencyMilliseconds.map { ($0 * 10).rounded() / 10 }
        reopenAt = health.reopenAt
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(circuit, forKey: .circuit)
        try container.encode(consecutiveFailures, forKey: .consecutiveFailures)
        try container.encode(lastErrorCode, forKey: .lastErrorCode)
        try container.encode(lastErrorAt, forKey: .lastErrorAt)
        try container.encode(lastSuccessAt, forKey: .lastSuccessAt)
        try container.encode(latencyMs, forKey: .latencyMs)
        try container.encode(reopenAt, forKey: .reopenAt)
    }

    enum CodingKeys: String, CodingKey {
        case status, circuit, consecutiveFailures, lastErrorCode, lastErrorAt, lastSuccessAt, latencyMs, reopenAt
    }
}

struct ProviderCatalogBody: Encodable {
    let data: [ProviderBody]
}

/// The catalog in the API's own JSON shape (stable, snake_case, amounts as strings).
struct ProviderBody: Encodable {
    let id: String
    let displayName: String
    let requiresKey: Bool
    let isOffline: Bool
    let kinds: [String]
    let models: [ProviderModelBody]
    let notes: [String]
    let health: ProviderHealthBody

    init(_ capabilities: ProviderCapabilities, health: ProviderHealthBody) {
        self.health = health
        id = capabilities.provider.rawValue
        displayName = capabilities.displayName
        requiresKey = capabilities.requiresKey
        isOffline = capabilities.isOffline
        kinds = capabilities.kinds.map(\.rawValue)
        models = capabilities.models.map(ProviderModelBody.init)
        notes = capabilities.notes
    }
}

struct ProviderModelBody: Encodable {
    let id: String
    let kind: String
    let displayName: String
    let isAsynchronous: Bool
    let maxPromptLength: Int?
    let parameters: [ProviderParameterBody]

    init(_ model: ModelCapability) {
        id = model.id
        kind = model.kind.rawValue
        displayName = model.displayName
        isAsynchronous = model.isAsynchronous
        maxPromptLength = model.maxPromptLength
        parameters = model.parameters.map(ProviderParameterBody.init)
    }
}

struct ProviderParameterBody: Encodable {
    let name: String
    let required: Bool
    let `default`: String?
    let type: String
    let values: [String]?
    let integers: [Int]?
    let minimum: String?
    let maximum: String?
    let maxLength: Int?

    init(_ spec: ParameterSpec) {
        name = spec.name.rawValue
        required = spec.isRequired
        `default` = spec.defaultValue
        var values: [String]? = nil, integers: [Int]? = nil, minimum: String? = nil, maximum: String? = nil, maxLength: Int? = nil
        switch spec.allowed {
        case .oneOf(let list): type = "one_of"; values = list
        case .integers(let list): type = "integers"; integers = list
        case .integerRange(let low, let high): type = "integer_range"; minimum = String(low); maximum = String(high)
        case .decimalRange(let low, let high): type = "decimal_range"; minimum = low.description; maximum = high.description
        case .text(let length): type = "text"; maxLength = length
        case .image: type = "image"
        case .voiceSettings: type = "voice_settings"
        case .boolean: type = "boolean"
        }
        self.values = values
        self.integers = integers
        self.minimum = minimum
        self.maximum = maximum
        self.maxLength = maxLength
    }
}

import Domain
import Foundation
import Providers

/// `GET /v1/providers`: every provider, what it can make, with which models and parameters.
struct ProviderHandlers: Sendable {
    let registry: ProviderRegistry
    let authenticator: Authenticator

    func list(_ request: HTTPRequest) throws -> HTTPResponse {
        _ = try authenticator.identity(of: request)
        var catalog = registry.catalog()
        if let kind = request.query["kind"] {
            guard let wanted = MediaKind(rawValue: kind) else {
                throw DomainError.validation([FieldError(field: "kind", code: "invalid",
                                                         message: "kind must be one of \(MediaKind.allCases.map(\.rawValue).joined(separator: ", "))")])
            }
            catalog = catalog.filter { $0.supports(wanted) }
        }
        return try .json(ProviderCatalogBody(data: catalog.map(ProviderBody.init)))
    }
}

private struct ProviderCatalogBody: Encodable {
    let data: [ProviderBody]
}

/// The catalog in the API's own JSON shape (stable, snake_case, amounts as strings).
private struct ProviderBody: Encodable {
    let id: String
    let displayName: String
    let requiresKey: Bool
    let isOffline: Bool
    let kinds: [String]
    let models: [ModelBody]
    let notes: [String]

    init(_ capabilities: ProviderCapabilities) {
        id = capabilities.provider.rawValue
        displayName = capabilities.displayName
        requiresKey = capabilities.requiresKey
        isOffline = capabilities.isOffline
        kinds = capabilities.kinds.map(\.rawValue)
        models = capabilities.models.map(ModelBody.init)
        notes = capabilities.notes
    }
}

private struct ModelBody: Encodable {
    let id: String
    let kind: String
    let displayName: String
    let isAsynchronous: Bool
    let maxPromptLength: Int?
    let parameters: [ParameterBody]

    init(_ model: ModelCapability) {
        id = model.id
        kind = model.kind.rawValue
        displayName = model.displayName
        isAsynchronous = model.isAsynchronous
        maxPromptLength = model.maxPromptLength
        parameters = model.parameters.map(ParameterBody.init)
    }
}

private struct ParameterBody: Encodable {
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
        }
        self.values = values
        self.integers = integers
        self.minimum = minimum
        self.maximum = maximum
        self.maxLength = maxLength
    }
}

import Domain
import Foundation

/// `GET /v1/pricing`: the current pricing version, optionally narrowed to a provider and model.
struct PricingHandlers: Sendable {
    let store: any PricingStore
    let authenticator: Authenticator

    static let maximumProviderLength = 64
    static let maximumModelLength = 200

    func current(_ request: HTTPRequest) throws -> HTTPResponse {
        _ = try authenticator.identity(of: request)
        guard let version = try store.currentVersion() else {
            throw Problem(status: 503, code: "pricing_unavailable", title: "Service Unavailable",
                          detail: "No pricing version is loaded: run `apiserver migrate` or `apiserver pricing import FILE`.")
        }
        let provider = request.query["provider"]
        let model = request.query["model"]
        // Filters are only compared, but a bound keeps what the API accepts what it documents.
        let tooLong = [("provider", provider, Self.maximumProviderLength), ("model", model, Self.maximumModelLength)]
            .filter { ($0.1?.unicodeScalars.count ?? 0) > $0.2 }
        guard tooLong.isEmpty else {
            throw DomainError.validation(tooLong.map { FieldError(field: $0.0, code: "too_long", message: "\($0.0) must be at most \($0.2) characters") })
        }
        return .json(bytes: try PricingBodyJSON.body(of: version, provider: provider, model: model))
    }
}

struct PricingBody: Encodable {
    let id: String
    let label: String
    let effectiveFrom: String
    let currency: String
    let fingerprint: String
    /// What each unit counts, so a client can compute a cost from the rows alone.
    let units: [PricingUnitBody]
    let data: [PricingModelBody]

    init(version: PricingVersion, models: [PricedModel]) {
        id = version.id
        label = version.label
        effectiveFrom = version.effectiveFrom
        currency = version.currency
        fingerprint = version.fingerprint
        units = PriceUnit.allCases.map(PricingUnitBody.init)
        data = models.map(PricingModelBody.init)
    }
}

struct PricingUnitBody: Encodable {
    let unit: String
    let definition: String
    let isToken: Bool

    init(_ unit: PriceUnit) {
        self.unit = unit.rawValue
        definition = unit.definition
        isToken = unit.isToken
    }
}

struct PricingModelBody: Encodable {
    let provider: String
    let model: String
    let mode: String
    let source: String
    /// The most output tokens one request may produce (the estimator's worst case).
    let maxOutputTokens: Int?
    /// Units the provider reports that this model is not charged by.
    let informationalUnits: [String]
    /// Per unit, the request fields its prices select on (empty: one price for any request).
    let selectsOn: [Selection]
    /// Prompt sizes above which other prices apply (long-context tiers), ascending.
    let tierThresholds: [Int]
    let prices: [PricingPriceBody]

    struct Selection: Encodable {
        let unit: String
        let fields: [String]
    }

    init(_ priced: PricedModel) {
        provider = priced.provider
        model = priced.model
        mode = priced.mode.rawValue
        source = priced.source
        maxOutputTokens = priced.maxOutputTokens
        informationalUnits = priced.informationalUnits.map(\.rawValue)
        let units = Set(priced.prices.map(\.unit)).sorted()
        selectsOn = units.map { unit in
            let keys = priced.prices.first { $0.unit == unit }?.dimension.keys ?? []
            return Selection(unit: unit.rawValue, fields: PriceDimension.Key.allCases.filter(keys.contains).map(\.rawValue))
        }
        tierThresholds = Set(priced.prices.compactMap(\.aboveInputTokens)).sorted()
        prices = priced.prices.map(PricingPriceBody.init)
    }
}

struct PricingPriceBody: Encodable {
    let unit: String
    /// Exact decimal as a string, for `per` units (1, 1,000 or 1,000,000).
    let price: String
    let per: Int
    let currency: String
    let size: String?
    let quality: String?
    let resolution: String?
    let audio: String?
    /// Applies instead of the base price when the prompt has more input tokens than this.
    let aboveInputTokens: Int?
    /// A per-task minimum in units: fewer are billed as this many.
    let minimumQuantity: String?
    let estimateOnly: Bool
    let effectiveFrom: String
    let source: String
    let confidence: String

    init(_ row: PriceRow) {
        unit = row.unit.rawValue
        price = row.price.jsonString
        per = row.per
        currency = row.currency
        size = row.dimension.size
        quality = row.dimension.quality
        resolution = row.dimension.resolution
        audio = row.dimension.audio
        aboveInputTokens = row.aboveInputTokens
        minimumQuantity = row.minimumQuantity.map { "\($0)" }
        estimateOnly = row.estimateOnly
        effectiveFrom = row.effectiveFrom
        source = row.source
        confidence = row.confidence.rawValue
    }
}

import Foundation

public enum CostStatus: String, Codable, Sendable, Hashable {
    /// Every quantity had a catalog price; `total` is exact.
    case priced
    /// Some needed price is unknown; `total` is absent (never $0) and `missing` says what.
    case unpriced
    /// The provider stated the charge (OpenRouter `usage.cost`); `total` is that charge.
    case providerReported = "provider_reported"
    /// The model costs nothing; `total` is an explicit 0.
    case free
}

/// One priced quantity: `subtotal = billedQuantity × price / per`.
public struct CostLine: Codable, Sendable, Hashable {
    /// `nil` for the provider-reported charge, which has no unit.
    public var unit: PriceUnit?
    public var dimension: PriceDimension
    public var quantity: Decimal
    /// `quantity`, raised to the price's per-task minimum if it has one.
    public var billedQuantity: Decimal
    public var price: Money
    public var per: Int
    public var subtotal: Money
    public var source: String
    public var confidence: PriceConfidence?
    /// The price row was a quoting price (only in estimates).
    public var estimateOnly: Bool
}

public enum MissingReason: String, Codable, Sendable, Hashable {
    case unknownModel = "unknown_model"
    case noPrice = "no_price"
    case missingDimension = "missing_dimension"
    case noMatchingDimension = "no_matching_dimension"
    case providerCostMissing = "provider_cost_missing"
    case maxOutputTokensUnknown = "max_output_tokens_unknown"
    /// The usage itself is wrong (a negative quantity): nothing is priced.
    case invalidUsage = "invalid_usage"
}

/// A price that was needed and not found.
public struct MissingPrice: Codable, Sendable, Hashable, CustomStringConvertible {
    public var unit: PriceUnit?
    public var dimension: PriceDimension
    public var reason: MissingReason
    /// For `missing_dimension`: the fields the model's prices select on that the request lacked.
    public var missingKeys: [PriceDimension.Key]

    public init(unit: PriceUnit?, dimension: PriceDimension = .none, reason: MissingReason, missingKeys: [PriceDimension.Key] = []) {
        self.unit = unit
        self.dimension = dimension
        self.reason = reason
        self.missingKeys = missingKeys
    }

    public var description: String {
        var text = reason.rawValue
        if let unit { text += " \(unit.rawValue)" }
        if !dimension.isEmpty { text += " [\(dimension)]" }
        if !missingKeys.isEmpty { text += " needs \(missingKeys.map(\.rawValue).joined(separator: ","))" }
        return text
    }
}

/// The cost of one usage against one pricing version.
public struct CostBreakdown: Codable, Sendable, Hashable {
    public var provider: String
    public var model: String
    public var pricingVersionId: String
    public var currency: String
    public var status: CostStatus
    /// One line per priced unit and dimension; for `unpriced`, the parts that were priced.
    public var lines: [CostLine]
    /// The exact sum of `lines`; nil when `unpriced`.
    public var total: Money?
    public var missing: [MissingPrice]
}

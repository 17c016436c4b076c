import Foundation

/// One price: `price` per `per` units of `unit`, for one provider and model (or the provider's
/// `*` entry), selected by `dimension` and, for long-context tiers, by the prompt size.
public struct PriceRow: Codable, Sendable, Hashable {
    public var provider: String
    /// A model id as the provider spells it, or `*` for a price that applies to all the
    /// provider's models (Runway's and ElevenLabs' credit).
    public var model: String
    public var unit: PriceUnit
    public var dimension: PriceDimension
    /// The price of `per` units. Token prices are quoted per 1,000,000 so that they stay short
    /// and within 10 decimals.
    public var price: Money
    /// 1, 1,000 or 1,000,000.
    public var per: Int
    public var currency: String
    /// ISO date (`2026-11-24`) from which this price applies.
    public var effectiveFrom: String
    /// Where the number comes from: the providers.md section and its marker, or an import.
    public var source: String
    public var confidence: PriceConfidence
    /// Used to quote before a run but never to charge for one: gpt-image's per-image prices,
    /// which are billed as tokens afterwards, and pass-through prices for OpenRouter.
    public var estimateOnly: Bool
    /// Applies instead of the base row when the request's prompt has more input tokens than
    /// this (OpenAI gpt-5.4 "input 5.00 above 272k"): the whole prompt is then priced at it.
    public var aboveInputTokens: Int?
    /// A per-task minimum, in units (Runway aleph2: 56 credits = 2 seconds at 28 credits/s).
    public var minimumQuantity: Decimal?

    public init(
        provider: String, model: String, unit: PriceUnit, dimension: PriceDimension = .none,
        price: Money, per: Int = 1, currency: String = "USD", effectiveFrom: String, source: String,
        confidence: PriceConfidence, estimateOnly: Bool = false, aboveInputTokens: Int? = nil,
        minimumQuantity: Decimal? = nil
    ) {
        self.provider = provider
        self.model = model
        self.unit = unit
        self.dimension = dimension
        self.price = price
        self.per = per
        self.currency = currency
        self.effectiveFrom = effectiveFrom
        self.source = source
        self.confidence = confidence
        self.estimateOnly = estimateOnly
        self.aboveInputTokens = aboveInputTokens
        self.minimumQuantity = minimumQuantity
    }

    /// Identifies the row within a version: two rows with the same key would be ambiguous.
    public var key: PriceKey {
        PriceKey(
            provider: provider, model: model, unit: unit, dimension: dimension,
            aboveInputTokens: aboveInputTokens, estimateOnly: estimateOnly
        )
    }

    /// Exact cost of `quantity` units: quantity × price / per, with the row's minimum applied.
    /// `per` is a power of ten, so the division is exact.
    public func cost(of quantity: Decimal) -> Money {
        let billed = minimumQuantity.map { Swift.max($0, quantity) } ?? quantity
        return Money(roundingToMaximumScale: Self.divide(price.amount * billed, by: per))
    }

    /// value / per. For the powers of ten a version allows (`PricingValidation.allowedPer`) this
    /// multiplies by 10⁻ⁿ, which is exact and only moves the exponent, where Decimal's division runs
    /// a long division (it was half of pricing a chat completion's usage in a profile of the chat
    /// benchmark); any other per is divided, as before, since its reciprocal need not be exact.
    static func divide(_ value: Decimal, by per: Int) -> Decimal {
        switch per {
        case 1: return value
        case 1_000: return value * thousandth
        case 1_000_000: return value * millionth
        default: return value / Decimal(per)
        }
    }

    private static let thousandth = Decimal(sign: .plus, exponent: -3, significand: 1)
    private static let millionth = Decimal(sign: .plus, exponent: -6, significand: 1)

    /// The billed quantity after the row's minimum.
    public func billedQuantity(_ quantity: Decimal) -> Decimal {
        minimumQuantity.map { Swift.max($0, quantity) } ?? quantity
    }
}

public struct PriceKey: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var provider: String
    public var model: String
    public var unit: PriceUnit
    public var dimension: PriceDimension
    public var aboveInputTokens: Int?
    public var estimateOnly: Bool

    public var description: String {
        var text = "\(provider)/\(model) \(unit.rawValue)"
        if !dimension.isEmpty { text += " [\(dimension)]" }
        if let aboveInputTokens { text += " above \(aboveInputTokens) input tokens" }
        if estimateOnly { text += " (estimate only)" }
        return text
    }

    public static func < (lhs: PriceKey, rhs: PriceKey) -> Bool { lhs.description < rhs.description }
}

/// A model's entry in a version: how its cost is known, and its prices.
public struct PricedModel: Codable, Sendable, Hashable {
    public var provider: String
    /// A model id, or `*` for every model of the provider not listed on its own.
    public var model: String
    public var mode: PricingMode
    public var source: String
    /// The most output tokens one request may produce; the estimator's worst case when a
    /// request does not set its own limit.
    public var maxOutputTokens: Int?
    /// Units the provider reports in usage that this model is not charged by (gpt-image-1-mini
    /// reports tokens but is priced per image here). Their quantities are ignored, not unpriced.
    public var informationalUnits: [PriceUnit]
    public var prices: [PriceRow]

    public init(
        provider: String, model: String, mode: PricingMode, source: String, maxOutputTokens: Int? = nil,
        informationalUnits: [PriceUnit] = [], prices: [PriceRow]
    ) {
        self.provider = provider
        self.model = model
        self.mode = mode
        self.source = source
        self.maxOutputTokens = maxOutputTokens
        self.informationalUnits = informationalUnits
        self.prices = prices
    }
}

import Foundation

/// Usage + pricing version → cost. Pure; the same inputs always give the same breakdown.
public enum CostCalculator {
    /// Prices `usage` for `provider`/`model`.
    ///
    /// With `purpose: .estimate` estimate-only rows are used as prices and provider-reported
    /// models are quoted from them; with `.actual` (the default) estimate-only rows never charge,
    /// and a quantity whose unit the model prices only for quoting (gpt-image's images) or lists
    /// as informational is left out rather than reported missing.
    public static func cost(
        of usage: Usage, provider: String, model: String, pricing: PricingVersion, purpose: PricingPurpose = .actual
    ) -> CostBreakdown {
        var breakdown = CostBreakdown(
            provider: provider, model: model, pricingVersionId: pricing.id, currency: pricing.currency,
            status: .unpriced, lines: [], total: nil, missing: []
        )
        guard usage.validationErrors.isEmpty else {
            breakdown.missing = [MissingPrice(unit: nil, reason: .invalidUsage)]
            return breakdown
        }
        guard let entry = pricing.model(provider: provider, model: model) else {
            breakdown.missing = [MissingPrice(unit: nil, reason: .unknownModel)]
            return breakdown
        }
        switch (entry.mode, purpose) {
        case (.free, _):
            breakdown.lines = usage.meteredQuantities.map { freeLine($0, source: entry.source) }
            breakdown.status = .free
            breakdown.total = .zero
        case (.providerReported, .actual):
            guard let reported = usage.providerReportedCost else {
                breakdown.missing = [MissingPrice(unit: nil, reason: .providerCostMissing)]
                return breakdown
            }
            breakdown.lines = [CostLine(
                unit: nil, dimension: .none, quantity: 1, billedQuantity: 1, price: reported, per: 1,
                subtotal: reported, source: entry.source, confidence: nil, estimateOnly: false
            )]
            breakdown.status = .providerReported
            breakdown.total = reported
        case (.priced, _), (.providerReported, .estimate):
            for quantity in usage.meteredQuantities {
                let lookup = pricing.lookup(
                    provider: provider, model: model, unit: quantity.unit, dimension: quantity.dimension,
                    inputTokens: quantity.unit.isToken ? usage.promptTokens : nil, purpose: purpose
                )
                switch lookup {
                case .found(let row):
                    breakdown.lines.append(line(quantity, row: row))
                case .noPrice where isInformational(quantity.unit, in: entry, pricing: pricing, purpose: purpose):
                    continue
                case .noPrice:
                    breakdown.missing.append(MissingPrice(unit: quantity.unit, dimension: quantity.dimension, reason: .noPrice))
                case .missingDimension(let keys):
                    breakdown.missing.append(MissingPrice(
                        unit: quantity.unit, dimension: quantity.dimension, reason: .missingDimension,
                        missingKeys: PriceDimension.Key.allCases.filter(keys.contains)
                    ))
                case .noMatchingDimension:
                    breakdown.missing.append(MissingPrice(unit: quantity.unit, dimension: quantity.dimension, reason: .noMatchingDimension))
                }
            }
            if breakdown.missing.isEmpty {
                breakdown.status = .priced
                breakdown.total = Money.sum(breakdown.lines.map(\.subtotal))
            }
        }
        return breakdown
    }

    static func line(_ quantity: MeteredQuantity, row: PriceRow) -> CostLine {
        CostLine(
            unit: quantity.unit, dimension: quantity.dimension, quantity: quantity.quantity,
            billedQuantity: row.billedQuantity(quantity.quantity), price: row.price, per: row.per,
            subtotal: row.cost(of: quantity.quantity), source: row.source, confidence: row.confidence,
            estimateOnly: row.estimateOnly
        )
    }

    static func freeLine(_ quantity: MeteredQuantity, source: String) -> CostLine {
        CostLine(
            unit: quantity.unit, dimension: quantity.dimension, quantity: quantity.quantity,
            billedQuantity: quantity.quantity, price: .zero, per: 1, subtotal: .zero, source: source,
            confidence: nil, estimateOnly: false
        )
    }

    /// Reported but not billed by this model: listed as informational, or priced only for quotes.
    static func isInformational(_ unit: PriceUnit, in entry: PricedModel, pricing: PricingVersion, purpose: PricingPurpose) -> Bool {
        if entry.informationalUnits.contains(unit) { return true }
        return purpose == .actual
            && !pricing.rows(provider: entry.provider, model: entry.model, unit: unit, purpose: .estimate).isEmpty
    }
}

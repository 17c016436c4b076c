import Foundation

/// The on-disk shape of `pricing/catalog.json` (format `media-workspace-pricing/1`), read and
/// written with snake_case keys. A price entry inherits `currency`, `effective_from`, `source`
/// and `confidence` from its model entry (and the model entry from the file) unless it sets
/// its own; amounts are strings.
struct CatalogFile: Codable {
    static let formatName = "media-workspace-pricing/1"

    var format: String
    var version: String
    var label: String
    var currency: String
    var effectiveFrom: String
    var models: [ModelEntry]

    struct ModelEntry: Codable {
        var provider: String
        var model: String
        var mode: PricingMode
        var source: String
        var confidence: PriceConfidence?
        var effectiveFrom: String?
        var maxOutputTokens: Int?
        var informationalUnits: [PriceUnit]?
        var prices: [PriceEntry]?
    }

    struct PriceEntry: Codable {
        var unit: PriceUnit
        var dimension: PriceDimension?
        var price: String
        var per: Int?
        var currency: String?
        var effectiveFrom: String?
        var source: String?
        var confidence: PriceConfidence?
        var estimateOnly: Bool?
        var aboveInputTokens: Int?
        var minimumQuantity: Decimal?
    }
}

extension CatalogFile {
    /// The compact file for a version: fields equal to the model's or the file's are omitted.
    init(_ version: PricingVersion) {
        self.format = Self.formatName
        self.version = version.id
        self.label = version.label
        self.currency = version.currency
        self.effectiveFrom = version.effectiveFrom
        self.models = version.models.map { model in
            let confidences = Set(model.prices.map(\.confidence))
            let modelConfidence = confidences.count == 1 ? confidences.first : nil
            return ModelEntry(
                provider: model.provider,
                model: model.model,
                mode: model.mode,
                source: model.source,
                confidence: modelConfidence,
                effectiveFrom: nil,
                maxOutputTokens: model.maxOutputTokens,
                informationalUnits: model.informationalUnits.isEmpty ? nil : model.informationalUnits,
                prices: model.prices.isEmpty ? nil : model.prices.map { row in
                    PriceEntry(
                        unit: row.unit,
                        dimension: row.dimension.isEmpty ? nil : row.dimension,
                        price: row.price.jsonString,
                        per: row.per == 1 ? nil : row.per,
                        currency: row.currency == version.currency ? nil : row.currency,
                        effectiveFrom: row.effectiveFrom == version.effectiveFrom ? nil : row.effectiveFrom,
                        source: row.source == model.source ? nil : row.source,
                        confidence: row.confidence == modelConfidence ? nil : row.confidence,
                        estimateOnly: row.estimateOnly ? true : nil,
                        aboveInputTokens: row.aboveInputTokens,
                        minimumQuantity: row.minimumQuantity
                    )
                }
            )
        }
    }
}

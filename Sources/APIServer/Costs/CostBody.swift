import Domain
import Foundation

/// The breakdown in the API's shape: amounts as exact decimal strings.
struct CostBody: Encodable {
    struct Line: Encodable {
        let unit: String?
        let size: String?
        let quality: String?
        let resolution: String?
        let audio: String?
        let quantity: String
        let billedQuantity: String
        let price: String
        let per: Int
        let subtotal: String
        let source: String
        let confidence: String?
    }

    struct Missing: Encodable {
        let unit: String?
        let size: String?
        let quality: String?
        let resolution: String?
        let audio: String?
        let reason: String
        let missingFields: [String]
        let message: String
    }

    let provider: String
    let model: String
    let pricingVersion: String
    let currency: String
    let status: String
    let total: String?
    let lines: [Line]
    let missing: [Missing]

    init(_ breakdown: CostBreakdown) {
        provider = breakdown.provider
        model = breakdown.model
        pricingVersion = breakdown.pricingVersionId
        currency = breakdown.currency
        status = breakdown.status.rawValue
        total = breakdown.total?.jsonString
        lines = breakdown.lines.map { line in
            Line(unit: line.unit?.rawValue, size: line.dimension.size, quality: line.dimension.quality,
                 resolution: line.dimension.resolution, audio: line.dimension.audio,
                 quantity: Self.plain(line.quantity), billedQuantity: Self.plain(line.billedQuantity), price: line.price.jsonString,
                 per: line.per, subtotal: line.subtotal.jsonString, source: line.source, confidence: line.confidence?.rawValue)
        }
        missing = breakdown.missing.map { missing in
            Missing(unit: missing.unit?.rawValue, size: missing.dimension.size, quality: missing.dimension.quality,
                    resolution: missing.dimension.resolution, audio: missing.dimension.audio, reason: missing.reason.rawValue,
                    missingFields: missing.missingKeys.map(\.rawValue), message: missing.description)
        }
    }

    /// Quantities are exact decimals too (characters per thousand: 1234 → 1.234).
    static func plain(_ value: Decimal) -> String {
        var value = value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 10, .plain)
        return rounded.description
    }
}

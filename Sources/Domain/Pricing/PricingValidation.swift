import Foundation

/// The rules every version obeys, whatever file it came from. Paths index the array given.
enum PricingValidation {
    static let allowedPer: Set<Int> = [1, 1_000, 1_000_000]
    /// Ranges for the numbers a price file carries, so a typo or a hostile file cannot make the
    /// arithmetic that uses them overflow or a quote absurd.
    static let maximumOutputTokens = 100_000_000
    static let maximumTierTokens = 1_000_000_000
    static let maximumPrice = Money(roundingToMaximumScale: 1_000_000)
    static let maximumMinimumQuantity: Decimal = 1_000_000

    static func errors(in models: [PricedModel], currency: String, effectiveFrom: String) -> [FieldError] {
        var errors: [FieldError] = []
        func fail(_ field: String, _ code: String, _ message: String) {
            errors.append(FieldError(field: field, code: code, message: message))
        }
        if !isCurrencyCode(currency) { fail("currency", "invalid_currency", "Use an ISO 4217 code such as \"USD\".") }
        if !isISODate(effectiveFrom) { fail("effective_from", "invalid_date", "Use a date such as \"2026-11-24\".") }

        var seenModels: Set<ModelKey> = []
        for (m, model) in models.enumerated() {
            let path = "models[\(m)]"
            if !isProviderID(model.provider) {
                fail("\(path).provider", "invalid_provider", "Provider ids are lowercase letters, digits, '_' and '-'.")
            }
            if model.model.isEmpty { fail("\(path).model", "required", "A model id (or \"*\") is required.") }
            if !seenModels.insert(ModelKey(provider: model.provider, model: model.model)).inserted {
                fail("\(path).model", "duplicate_model", "\(model.provider)/\(model.model) appears twice.")
            }
            if model.source.isEmpty { fail("\(path).source", "required", "Every model entry names its source.") }
            if let maxOutputTokens = model.maxOutputTokens, !(1...maximumOutputTokens).contains(maxOutputTokens) {
                fail("\(path).max_output_tokens", "invalid_value", "Must be 1 to \(maximumOutputTokens).")
            }
            var seenKeys: Set<PriceKey> = []
            for (p, row) in model.prices.enumerated() {
                let rowPath = "\(path).prices[\(p)]"
                if row.currency != currency {
                    fail("\(rowPath).currency", "mixed_currency", "All prices of a version share the currency \(currency).")
                }
                if row.price.isNegative { fail("\(rowPath).price", "amount_negative", "Prices are never negative.") }
                if row.price > maximumPrice { fail("\(rowPath).price", "out_of_range", "Prices are at most \(maximumPrice) per `per` units.") }
                if !allowedPer.contains(row.per) { fail("\(rowPath).per", "invalid_per", "per is 1, 1000 or 1000000.") }
                if !isISODate(row.effectiveFrom) { fail("\(rowPath).effective_from", "invalid_date", "Use a date such as \"2026-11-24\".") }
                if row.source.isEmpty { fail("\(rowPath).source", "required", "Every price names its source.") }
                if !seenKeys.insert(row.key).inserted { fail(rowPath, "duplicate_price", "\(row.key) appears twice.") }
                if let above = row.aboveInputTokens {
                    if !row.unit.isToken || !(1...maximumTierTokens).contains(above) {
                        fail("\(rowPath).above_input_tokens", "invalid_value", "Long-context tiers apply to token prices above a positive size.")
                    }
                    let hasBase = model.prices.contains {
                        $0.unit == row.unit && $0.dimension == row.dimension && $0.aboveInputTokens == nil && $0.estimateOnly == row.estimateOnly
                    }
                    if !hasBase { fail(rowPath, "tier_without_base", "A long-context price needs the base price beside it.") }
                }
                if let minimum = row.minimumQuantity, minimum < 0 || !minimum.isFinite || minimum > maximumMinimumQuantity {
                    fail("\(rowPath).minimum_quantity", "invalid_value", "Must be 0 to \(maximumMinimumQuantity).")
                }
                switch model.mode {
                case .free where !row.price.isZero:
                    fail("\(rowPath).price", "free_model_priced", "A free model's prices are all zero.")
                case .providerReported where !row.estimateOnly:
                    fail("\(rowPath).estimate_only", "provider_reported_priced", "A provider-reported model has estimate-only prices.")
                default:
                    break
                }
                if model.informationalUnits.contains(row.unit) && !row.estimateOnly {
                    fail("\(rowPath).unit", "informational_unit_priced", "\(row.unit.rawValue) is listed as informational for this model.")
                }
            }
            // The matching rule needs one key set per unit, and one kind (billable or estimate-only).
            let byUnit = Dictionary(grouping: model.prices.enumerated(), by: { $0.element.unit })
            for (unit, rows) in byUnit.sorted(by: { $0.key < $1.key }) {
                if Set(rows.map(\.element.dimension.keys)).count > 1 {
                    fail("\(path).prices[\(rows[0].offset)].dimension", "inconsistent_dimension",
                         "All \(unit.rawValue) prices of a model select on the same fields.")
                }
                if Set(rows.map(\.element.estimateOnly)).count > 1 {
                    fail("\(path).prices[\(rows[0].offset)].estimate_only", "mixed_estimate_only",
                         "\(unit.rawValue) prices of a model are either all estimate-only or none.")
                }
            }
        }
        return errors
    }

    /// `models[m].prices[p]…` with `p` replaced by `rowIndex[m][p]`.
    static func remapRow(in field: String, using rowIndex: [[Int]]) -> String {
        let scanner = field.split(separator: "]", maxSplits: 2, omittingEmptySubsequences: false)
        guard scanner.count == 3, scanner[0].hasPrefix("models["), scanner[1].hasPrefix(".prices["),
              let model = Int(scanner[0].dropFirst("models[".count)), let row = Int(scanner[1].dropFirst(".prices[".count)),
              model < rowIndex.count, row < rowIndex[model].count else { return field }
        return "models[\(model)].prices[\(rowIndex[model][row])]" + scanner[2]
    }

    static func isCurrencyCode(_ text: String) -> Bool {
        text.utf8.count == 3 && text.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }

    static func isProviderID(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    /// `YYYY-MM-DD` with a real month and a day the month has (leap years included).
    static func isISODate(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }
}

import Foundation

extension LiteLLMCatalog {
    /// Collects one model's rows from the entries that name it (LiteLLM writes gpt-image's
    /// per-size prices as separate `quality/size/model` entries), with what was used and skipped.
    struct ModelBuilder {
        var model: PricedModel
        let options: Options
        let estimateOnly: Bool
        var entries: [String] = []
        var used: [UsedField] = []
        var skipped: [Skipped] = []

        init(model: PricedModel, options: Options, estimateOnly: Bool) {
            self.model = model
            self.options = options
            self.estimateOnly = estimateOnly
        }

        mutating func add(entry key: String, fields: [String: Value], mode: String, dimension: PriceDimension) {
            entries.append(key)
            if case .number(let maxOutput)? = fields["max_output_tokens"], let value = Int(maxOutput.description),
               (1...PricingValidation.maximumOutputTokens).contains(value) {
                model.maxOutputTokens = value
            }
            // Units that also have per-resolution prices in this entry: their flat price covers the other resolutions.
            let resolutionUnits = Set(fields.keys.compactMap { field -> PriceUnit? in
                if case .resolutionPrice(let unit, _, _, _) = priceField(field) { return unit }
                return nil
            })
            // LiteLLM's fal calculator prices by pixel when an entry has a per-pixel price; its
            // per-image price is then only the fallback, and charging both would bill an image twice.
            let pricedByPixel: Bool
            if case .number(let perPixel)? = fields["output_cost_per_pixel"] { pricedByPixel = !perPixel.isZero } else { pricedByPixel = false }
            for field in fields.keys.sorted() {
                if pricedByPixel, field == "output_cost_per_image" {
                    skipped.append(Skipped(key: key, field: field, reason: "priced by pixel (output_cost_per_pixel); the per-image price is LiteLLM's fallback"))
                    continue
                }
                guard case .number(let value)? = fields[field] else {
                    if case .object? = fields[field], field.contains("cost") {
                        skipped.append(Skipped(key: key, field: field, reason: "tool prices per query are not metered"))
                    }
                    continue
                }
                switch priceField(field) {
                case .price(let unit, let per, let scale, let above):
                    var rowDimension = dimension
                    if above == nil, resolutionUnits.contains(unit), rowDimension.resolution == nil {
                        rowDimension.resolution = PriceDimension.anyOther
                    }
                    addRow(key, field, unit: unit, dimension: rowDimension, amount: value * scale, per: per, above: above)
                case .resolutionPrice(let unit, let per, let scale, let resolution):
                    var rowDimension = dimension
                    rowDimension.resolution = resolution
                    addRow(key, field, unit: unit, dimension: rowDimension, amount: value * scale, per: per, above: nil)
                case .outputPerPixel:
                    guard !value.isZero else {
                        skipped.append(Skipped(key: key, field: field, reason: "zero per-pixel price (LiteLLM's placeholder beside another price)"))
                        continue
                    }
                    addRow(key, field, unit: .megapixel, dimension: dimension, amount: value * Decimal(Megapixels.pixelsPerMegapixel), per: 1,
                           above: nil, note: "per pixel × 1,048,576 pixels in a billable megapixel")
                case .inputPerPixel:
                    guard mode == "image_generation", let pixels = pixels(ofSize: dimension.size) else {
                        skipped.append(Skipped(key: key, field: field, reason: "a per-pixel price needs an image entry with a size"))
                        continue
                    }
                    // LiteLLM derived these per-pixel figures from per-image prices and cut them to a few
                    // significant digits; the product keeps only as many, which gives the per-image price back.
                    let perImage = Self.rounded(value * pixels, significantDigits: Self.significantDigits(of: value))
                    addRow(key, field, unit: .image, dimension: dimension, amount: perImage, per: 1, above: nil,
                           note: "per pixel × \(dimension.size ?? "") pixels, to the per-pixel figure's \(Self.significantDigits(of: value)) significant digits")
                case .inputPerImage:
                    guard mode == "image_generation" else {
                        skipped.append(Skipped(key: key, field: field, reason: "input images are not metered apart"))
                        continue
                    }
                    addRow(key, field, unit: .image, dimension: dimension, amount: value, per: 1, above: nil,
                           note: "an image_generation entry's input_cost_per_image is the price of one generated image")
                case .ignored(let reason):
                    skipped.append(Skipped(key: key, field: field, reason: reason))
                case .notAPrice:
                    continue
                }
            }
        }

        /// Digits of the decimal's mantissa without trailing zeros (`1.59263611e-07` → 9).
        static func significantDigits(of value: Decimal) -> Int {
            var digits = Array(value.magnitude.description.filter(\.isASCIIDigit).drop { $0 == "0" })
            while digits.last == "0" { digits.removeLast() }
            return max(1, min(digits.count, 20))
        }

        /// `value` rounded half-up to `significantDigits`, never beyond Money's 10 decimals.
        static func rounded(_ value: Decimal, significantDigits: Int) -> Decimal {
            guard value > 0 else { return value }
            var exponent = 0
            var probe = value
            while probe >= 10, exponent < 40 { probe /= 10; exponent += 1 }
            while probe < 1, exponent > -40 { probe *= 10; exponent -= 1 }
            var input = value
            var result = Decimal()
            NSDecimalRound(&result, &input, min(Money.maximumScale, significantDigits - 1 - exponent), .plain)
            return result
        }

        mutating func addRow(_ key: String, _ field: String, unit: PriceUnit, dimension: PriceDimension, amount: Decimal, per: Int,
                             above: Int?, note: String? = nil) {
            guard let price = try? Money(exactly: amount), !price.isNegative else {
                skipped.append(Skipped(key: key, field: field, reason: "price \(amount) is negative or finer than 10 decimals"))
                return
            }
            let row = PriceRow(
                provider: model.provider, model: model.model, unit: unit, dimension: dimension, price: price, per: per,
                currency: options.currency, effectiveFrom: options.effectiveFrom,
                source: "LiteLLM model_prices_and_context_window.json \"\(key)\".\(field)", confidence: .litellm,
                estimateOnly: estimateOnly, aboveInputTokens: above
            )
            if let existing = model.prices.first(where: { $0.key == row.key }) {
                let same = existing.price.amount / Decimal(existing.per) == price.amount / Decimal(per)
                skipped.append(Skipped(key: key, field: field, reason: same
                    ? "same price as \(existing.source.split(separator: ".").last.map(String.init) ?? "another field")"
                    : "duplicate of \(row.key) with another price; the first field read is kept"))
                return
            }
            model.prices.append(row)
            used.append(UsedField(key: key, field: field, row: row.key, price: price.jsonString, per: per, note: note))
        }

        /// Per-image prices of a token-billed model quote only; a unit priced both flat and by
        /// size × quality keeps the sized rows (LiteLLM's flat entry is its fallback for requests no
        /// sized entry matches, which we leave unpriced rather than guess).
        mutating func finish() {
            if model.prices.contains(where: { $0.unit.isToken }) {
                for index in model.prices.indices where model.prices[index].unit == .image && !model.prices[index].estimateOnly {
                    model.prices[index].estimateOnly = true
                }
                used = used.map { use in
                    var use = use
                    if use.row.unit == .image { use.row.estimateOnly = true }
                    return use
                }
            }
            for unit in Set(model.prices.map(\.unit)).sorted() {
                let rows = model.prices.filter { $0.unit == unit }
                let widest = rows.map(\.dimension.keys.count).max() ?? 0
                let dropped = rows.filter { $0.dimension.keys.count < widest }
                guard !dropped.isEmpty else { continue }
                let keys = rows.first { $0.dimension.keys.count == widest }?.dimension.keys.map(\.rawValue).sorted().joined(separator: "×") ?? ""
                for row in dropped {
                    model.prices.removeAll { $0.key == row.key }
                    used.removeAll { $0.row == row.key }
                    let origin = row.source.split(separator: "\"", omittingEmptySubsequences: false)
                    skipped.append(Skipped(
                        key: origin.count > 2 ? String(origin[1]) : model.model,
                        field: origin.last.map { String($0.dropFirst()) },
                        reason: "\(unit.rawValue) priced without \(keys) beside prices by \(keys): a fallback, not applied"))
                }
            }
        }
    }
}

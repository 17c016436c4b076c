import Foundation

/// Reads and writes our catalog format (see `CatalogFile` and the `pricing/` folder).
public enum PricingCatalog {
    /// Parses and validates a catalog. Every problem is reported, each under the JSON path of
    /// the offending field (`models[3].prices[0].price`), as one `DomainError.validation`.
    public static func load(_ data: Data) throws(DomainError) -> PricingVersion {
        let file: CatalogFile
        do {
            file = try snakeCaseDecoder().decode(CatalogFile.self, from: data)
        } catch {
            throw .validation([FieldError(decodingError: error)])
        }
        var errors: [FieldError] = []
        if file.format != CatalogFile.formatName {
            errors.append(FieldError(field: "format", code: "unsupported_format", message: "Expected \"\(CatalogFile.formatName)\"."))
        }
        if file.version.trimmingCharacters(in: .whitespaces).isEmpty {
            errors.append(FieldError(field: "version", code: "required", message: "A catalog needs a version id."))
        }
        var models: [PricedModel] = []
        // Rows whose price does not parse are left out, so validation's row numbers are mapped
        // back to the file's.
        var fileRowIndex: [[Int]] = []
        for (m, entry) in file.models.enumerated() {
            var rows: [PriceRow] = []
            var indices: [Int] = []
            for (p, price) in (entry.prices ?? []).enumerated() {
                let path = "models[\(m)].prices[\(p)]"
                let amount: Money
                do {
                    amount = try Money(parsing: price.price)
                } catch {
                    errors.append(error.fieldError("\(path).price"))
                    continue
                }
                rows.append(PriceRow(
                    provider: entry.provider, model: entry.model, unit: price.unit,
                    dimension: price.dimension ?? .none, price: amount, per: price.per ?? 1,
                    currency: price.currency ?? file.currency,
                    effectiveFrom: price.effectiveFrom ?? entry.effectiveFrom ?? file.effectiveFrom,
                    source: price.source ?? entry.source,
                    confidence: price.confidence ?? entry.confidence ?? .unverified,
                    estimateOnly: price.estimateOnly ?? false, aboveInputTokens: price.aboveInputTokens,
                    minimumQuantity: price.minimumQuantity
                ))
                indices.append(p)
            }
            fileRowIndex.append(indices)
            models.append(PricedModel(
                provider: entry.provider, model: entry.model, mode: entry.mode, source: entry.source,
                maxOutputTokens: entry.maxOutputTokens, informationalUnits: entry.informationalUnits ?? [], prices: rows
            ))
        }
        errors += PricingValidation.errors(in: models, currency: file.currency, effectiveFrom: file.effectiveFrom).map {
            FieldError(field: PricingValidation.remapRow(in: $0.field, using: fileRowIndex), code: $0.code, message: $0.message)
        }
        guard errors.isEmpty else { throw .validation(errors) }
        return PricingVersion(
            id: file.version, label: file.label, effectiveFrom: file.effectiveFrom, currency: file.currency, models: models
        )
    }

    /// The version in our file format, keys sorted, for storing or re-importing.
    public static func encode(_ version: PricingVersion) -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(CatalogFile(version))) ?? Data()
    }

    static func snakeCaseDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

extension FieldError {
    /// A decoding failure as a field error whose `field` is the JSON path where it happened.
    init(decodingError error: any Error) {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + snakeCased(key.stringValue)
                }
            }
            return text.isEmpty ? "$" : text
        }
        switch error as? DecodingError {
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            self.init(field: path(context.codingPath), code: "invalid_type", message: context.debugDescription)
        case .keyNotFound(let key, let context):
            self.init(field: path(context.codingPath + [key]), code: "required", message: "This field is required.")
        case .dataCorrupted(let context):
            self.init(field: path(context.codingPath), code: "invalid_value", message: context.debugDescription)
        default:
            self.init(field: "$", code: "invalid_json", message: "The body is not valid JSON.")
        }
    }
}

/// `effectiveFrom` → `effective_from`, for reporting paths in the file's own spelling.
func snakeCased(_ key: String) -> String {
    var result = ""
    for character in key {
        if character.isUppercase {
            result += "_" + character.lowercased()
        } else {
            result.append(character)
        }
    }
    return result
}

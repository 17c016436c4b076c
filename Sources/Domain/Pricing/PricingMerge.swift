import Foundation

/// An imported price list applied on top of the current version: the models the import names
/// are updated, every other model and row of the current version is kept (the local provider's
/// free entry, Runway's and ElevenLabs' credits, OpenRouter's provider-reported entry, our
/// minimums and per-resolution prices that LiteLLM lacks).
public enum PricingMerge {
    public struct Result: Sendable {
        public var version: PricingVersion
        /// What was kept from the current version against the import, and why.
        public var notes: [String]
    }

    public static func merge(_ imported: PricingVersion, into current: PricingVersion) -> Result {
        var notes: [String] = []
        var models: [ModelKey: PricedModel] = [:]
        for model in current.models { models[ModelKey(provider: model.provider, model: model.model)] = model }
        for incoming in imported.models {
            let key = ModelKey(provider: incoming.provider, model: incoming.model)
            guard let existing = models[key] else {
                models[key] = incoming
                continue
            }
            let merged = merge(incoming, into: existing, notes: &notes)
            let errors = PricingValidation.errors(in: [merged], currency: current.currency, effectiveFrom: current.effectiveFrom)
            if errors.isEmpty {
                models[key] = merged
            } else {
                notes.append("\(key.provider)/\(key.model): kept the current prices; the merge would not validate (\(errors.map(\.code).joined(separator: ", ")))")
            }
        }
        let version = PricingVersion(
            id: imported.id, label: imported.label + " (merged into \(current.id))", effectiveFrom: imported.effectiveFrom,
            currency: current.currency, models: Array(models.values)
        )
        return Result(version: version, notes: notes)
    }

    /// Unit by unit: the import's rows update rows with the same key and add new ones; rows the
    /// import lacks stay. Where the two select on different fields, the more specific side wins.
    static func merge(_ incoming: PricedModel, into existing: PricedModel, notes: inout [String]) -> PricedModel {
        var result = existing
        let name = "\(existing.provider)/\(existing.model)"
        result.maxOutputTokens = incoming.maxOutputTokens ?? existing.maxOutputTokens
        if existing.mode == .free {
            if !incoming.prices.isEmpty { notes.append("\(name): free in the current version; imported prices not applied") }
            return result
        }
        var rows: [PriceRow] = []
        for unit in Set(existing.prices.map(\.unit) + incoming.prices.map(\.unit)).sorted() {
            let old = existing.prices.filter { $0.unit == unit }
            var new = incoming.prices.filter { $0.unit == unit }
            if existing.mode == .providerReported {
                new = new.map { var row = $0; row.estimateOnly = true; return row }
            }
            if existing.informationalUnits.contains(unit), !new.isEmpty {
                notes.append("\(name) \(unit.rawValue): informational for this model; imported prices not applied")
                new = []
            }
            guard !new.isEmpty else { rows += old; continue }
            guard !old.isEmpty else { rows += new; continue }
            let oldKeys = Set(old.map(\.dimension.keys)), newKeys = Set(new.map(\.dimension.keys))
            let oldEstimate = Set(old.map(\.estimateOnly)), newEstimate = Set(new.map(\.estimateOnly))
            if oldKeys == newKeys && oldEstimate == newEstimate {
                var byKey = Dictionary(old.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
                for var row in new {
                    if row.minimumQuantity == nil { row.minimumQuantity = byKey[row.key]?.minimumQuantity }
                    byKey[row.key] = row
                }
                rows += byKey.values.sorted { $0.key < $1.key }
            } else if oldEstimate == newEstimate, let oldWidth = oldKeys.first?.count, let newWidth = newKeys.first?.count,
                      oldKeys.count == 1, newKeys.count == 1, newWidth > oldWidth {
                notes.append("\(name) \(unit.rawValue): the import prices it by more fields; \(old.count) current rows replaced")
                rows += new
            } else {
                notes.append("\(name) \(unit.rawValue): kept the current rows, which select on other fields or are "
                    + (oldEstimate == [true] ? "estimate-only" : "billable") + " where the import's are not")
                rows += old
            }
        }
        result.prices = rows
        return result
    }
}

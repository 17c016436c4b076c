import Foundation

/// What changes between two versions: what `apiserver pricing import FILE` shows before
/// storing a new version. Rows are matched by ``PriceKey``; a row is *changed* when its price
/// per single unit or its minimum differs (a re-quote from per-1k to per-1M is not a change).
public struct PricingDiff: Codable, Sendable, Hashable {
    public struct Change: Codable, Sendable, Hashable {
        public var old: PriceRow
        public var new: PriceRow
    }

    public struct ModeChange: Codable, Sendable, Hashable {
        public var provider: String
        public var model: String
        public var old: PricingMode
        public var new: PricingMode
    }

    public struct ModelReference: Codable, Sendable, Hashable {
        public var provider: String
        public var model: String
    }

    public var added: [PriceRow]
    public var removed: [PriceRow]
    public var changed: [Change]
    public var modelsAdded: [ModelReference]
    public var modelsRemoved: [ModelReference]
    public var modeChanged: [ModeChange]

    public var isEmpty: Bool {
        added.isEmpty && removed.isEmpty && changed.isEmpty && modelsAdded.isEmpty && modelsRemoved.isEmpty && modeChanged.isEmpty
    }

    public init(old: PricingVersion, new: PricingVersion) {
        let oldRows = Dictionary(old.rows.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let newRows = Dictionary(new.rows.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        added = newRows.keys.filter { oldRows[$0] == nil }.sorted().compactMap { newRows[$0] }
        removed = oldRows.keys.filter { newRows[$0] == nil }.sorted().compactMap { oldRows[$0] }
        changed = oldRows.keys.sorted().compactMap { key in
            guard let before = oldRows[key], let after = newRows[key] else { return nil }
            let samePrice = before.price.amount / Decimal(before.per) == after.price.amount / Decimal(after.per)
            return samePrice && before.minimumQuantity == after.minimumQuantity ? nil : Change(old: before, new: after)
        }
        let oldModels = Dictionary(old.models.map { (ModelKey(provider: $0.provider, model: $0.model), $0) }, uniquingKeysWith: { a, _ in a })
        let newModels = Dictionary(new.models.map { (ModelKey(provider: $0.provider, model: $0.model), $0) }, uniquingKeysWith: { a, _ in a })
        func reference(_ key: ModelKey) -> ModelReference { ModelReference(provider: key.provider, model: key.model) }
        let order: (ModelKey, ModelKey) -> Bool = { ($0.provider, $0.model) < ($1.provider, $1.model) }
        modelsAdded = newModels.keys.filter { oldModels[$0] == nil }.sorted(by: order).map(reference)
        modelsRemoved = oldModels.keys.filter { newModels[$0] == nil }.sorted(by: order).map(reference)
        modeChanged = oldModels.keys.sorted(by: order).compactMap { key in
            guard let before = oldModels[key], let after = newModels[key], before.mode != after.mode else { return nil }
            return ModeChange(provider: key.provider, model: key.model, old: before.mode, new: after.mode)
        }
    }
}

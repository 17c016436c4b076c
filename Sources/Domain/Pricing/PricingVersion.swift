import Foundation

/// Whether a price is wanted to quote a request before it runs or to charge a finished one.
/// Estimate-only rows (gpt-image per-image prices, OpenRouter pass-through prices) answer only
/// the first.
public enum PricingPurpose: String, Sendable, Hashable {
    case actual
    case estimate
}

/// The answer to a price lookup, with the reason when there is no price.
public enum PriceLookup: Sendable, Hashable {
    case found(PriceRow)
    /// The model has prices for the unit, but they depend on fields the request did not give.
    case missingDimension(Set<PriceDimension.Key>)
    /// The model has prices for the unit, none for the request's dimension.
    case noMatchingDimension
    /// The unit is not priced for this model (or the model is unknown).
    case noPrice

    public var row: PriceRow? {
        if case .found(let row) = self { return row }
        return nil
    }
}

/// An immutable set of prices, created by loading a catalog. Costs are always computed against
/// one version and record its id, so importing a new catalog never changes an old result.
public struct PricingVersion: Codable, Sendable, Hashable {
    /// Stable identifier chosen by whoever publishes the catalog (`2026-11-24.1`).
    public let id: String
    public let label: String
    public let effectiveFrom: String
    public let currency: String
    /// A content hash (64-bit FNV-1a over the canonical JSON of `models`), so that importing
    /// the same prices twice can be recognised.
    public let fingerprint: String
    public let models: [PricedModel]
    private let index: [ModelKey: Int]

    public init(id: String, label: String, effectiveFrom: String, currency: String, models: [PricedModel]) {
        self.id = id
        self.label = label
        self.effectiveFrom = effectiveFrom
        self.currency = currency
        let sorted = models.sorted { ($0.provider, $0.model) < ($1.provider, $1.model) }
        self.models = sorted
        self.fingerprint = Self.fingerprint(of: sorted)
        self.index = Dictionary(
            sorted.enumerated().map { (ModelKey(provider: $0.element.provider, model: $0.element.model), $0.offset) },
            uniquingKeysWith: { first, _ in first }
        )
    }

    private enum CodingKeys: String, CodingKey {
        case id, label, effectiveFrom, currency, fingerprint, models
    }

    /// Decoding recomputes the fingerprint and index from the models, so a stored version
    /// cannot claim another version's identity by its hash.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decode(String.self, forKey: .id),
            label: try container.decode(String.self, forKey: .label),
            effectiveFrom: try container.decode(String.self, forKey: .effectiveFrom),
            currency: try container.decode(String.self, forKey: .currency),
            models: try container.decode([PricedModel].self, forKey: .models)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(label, forKey: .label)
        try container.encode(effectiveFrom, forKey: .effectiveFrom)
        try container.encode(currency, forKey: .currency)
        try container.encode(fingerprint, forKey: .fingerprint)
        try container.encode(models, forKey: .models)
    }

    /// Every price row, in catalog order.
    public var rows: [PriceRow] { models.flatMap(\.prices) }

    /// The model's own entry, else (after dropping a `-YYYYMMDD` / `-YYYY-MM-DD` snapshot
    /// suffix, as in `gpt-4o-mini-2024-07-18`) the undated entry, else the provider's `*` entry.
    public func model(provider: String, model: String) -> PricedModel? {
        // Looked up four times per generation: no list of candidates built for it.
        if let position = index[ModelKey(provider: provider, model: model)] { return models[position] }
        if let undated = Self.undated(model), let position = index[ModelKey(provider: provider, model: undated)] {
            return models[position]
        }
        return index[ModelKey(provider: provider, model: "*")].map { models[$0] }
    }

    public func mode(provider: String, model: String) -> PricingMode? {
        self.model(provider: provider, model: model)?.mode
    }

    /// The price for one unit, or nil when it is unpriced (which is never the same as free).
    public func price(
        provider: String, model: String, unit: PriceUnit, dimension: PriceDimension = .none,
        inputTokens: Int? = nil, purpose: PricingPurpose = .actual
    ) -> PriceRow? {
        lookup(provider: provider, model: model, unit: unit, dimension: dimension, inputTokens: inputTokens, purpose: purpose).row
    }

    public func lookup(
        provider: String, model: String, unit: PriceUnit, dimension: PriceDimension = .none,
        inputTokens: Int? = nil, purpose: PricingPurpose = .actual
    ) -> PriceLookup {
        let candidates = rows(provider: provider, model: model, unit: unit, purpose: purpose)
        guard let first = candidates.first else { return .noPrice }
        let needed = first.dimension.keys
        let missing = needed.subtracting(dimension.keys)
        guard missing.isEmpty else { return .missingDimension(missing) }
        // Rows naming the request's values win; a `*` row answers only when none does.
        let exact = candidates.filter { $0.dimension.selects(dimension) }
        let matching = exact.contains { $0.aboveInputTokens == nil }
            ? exact : candidates.filter { $0.dimension.selectsAsFallback(dimension) }
        guard let base = matching.first(where: { $0.aboveInputTokens == nil }) else { return .noMatchingDimension }
        guard let inputTokens else { return .found(base) }
        let tier = matching
            .filter { ($0.aboveInputTokens ?? .max) < inputTokens }
            .max { ($0.aboveInputTokens ?? 0) < ($1.aboveInputTokens ?? 0) }
        return .found(tier ?? base)
    }

    /// All rows of the unit that could serve the purpose, from the model's entry or else from
    /// the provider's `*` entry (a model's own prices win as a whole, never mixed per dimension).
    public func rows(provider: String, model: String, unit: PriceUnit, purpose: PricingPurpose) -> [PriceRow] {
        func serving(_ entry: PricedModel?) -> [PriceRow] {
            entry?.prices.filter { $0.unit == unit && (purpose == .estimate || !$0.estimateOnly) } ?? []
        }
        // The provider's `*` entry is looked up only when the model's own has no such row.
        let own = serving(self.model(provider: provider, model: model))
        return own.isEmpty ? serving(self.model(provider: provider, model: "*")) : own
    }

    static func undated(_ model: String) -> String? {
        // Both forms end in a digit; most names do not, and are answered without copying them.
        guard let last = model.utf8.last, last >= UInt8(ascii: "0"), last <= UInt8(ascii: "9") else { return nil }
        let bytes = Array(model.utf8)
        let count = bytes.count
        func digits(_ range: Range<Int>) -> Bool {
            range.allSatisfy { bytes[$0] >= UInt8(ascii: "0") && bytes[$0] <= UInt8(ascii: "9") }
        }
        let dash = UInt8(ascii: "-")
        if count > 9, bytes[count - 9] == dash, digits(count - 8..<count) {
            return String(decoding: bytes[..<(count - 9)], as: UTF8.self)
        }
        if count > 11, bytes[count - 11] == dash, bytes[count - 6] == dash, bytes[count - 3] == dash,
           digits(count - 10..<count - 6), digits(count - 5..<count - 3), digits(count - 2..<count) {
            return String(decoding: bytes[..<(count - 11)], as: UTF8.self)
        }
        return nil
    }

    static func fingerprint(of models: [PricedModel]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(models)) ?? Data()
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

struct ModelKey: Hashable {
    var provider: String
    var model: String
}

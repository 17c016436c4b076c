/// The part of a request that selects among a model's prices for one unit: image size ×
/// quality (gpt-image), resolution tier (Veo, Seedance, Runway images), audio on/off (Runway's
/// veo3.1). A field left `nil` does not select.
///
/// Matching rule (``PricingVersion/price(provider:model:unit:dimension:inputTokens:purpose:)``):
/// all rows of one model and unit declare the same set of fields (the catalog validator
/// enforces it). A row matches when every field it declares equals the request's; fields the
/// rows do not declare are ignored, so a flat per-second price matches any resolution. A
/// request that lacks a field the rows need is unpriced, never guessed. A row whose field is
/// ``anyOther`` (`*`) prices every value of that field no other row names (LiteLLM's flat
/// `output_cost_per_second` beside `output_cost_per_second_4k`); the request must still give it.
public struct PriceDimension: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// `WIDTHxHEIGHT` as the provider spells it: `1024x1024`, `1536x1024`.
    public var size: String?
    /// `low`, `medium`, `high` (gpt-image).
    public var quality: String?
    /// `480p`, `720p`, `1080p`, `4k`.
    public var resolution: String?
    /// `on` or `off`, where generated audio changes the price.
    public var audio: String?

    public static let none = PriceDimension()
    /// The value that matches whatever the request gives when no row names that value.
    public static let anyOther = "*"

    public init(size: String? = nil, quality: String? = nil, resolution: String? = nil, audio: String? = nil) {
        self.size = size
        self.quality = quality
        self.resolution = resolution
        self.audio = audio
    }

    public enum Key: String, CaseIterable, Codable, Sendable, Hashable {
        case size, quality, resolution, audio
    }

    public subscript(key: Key) -> String? {
        get {
            switch key {
            case .size: size
            case .quality: quality
            case .resolution: resolution
            case .audio: audio
            }
        }
        set {
            switch key {
            case .size: size = newValue
            case .quality: quality = newValue
            case .resolution: resolution = newValue
            case .audio: audio = newValue
            }
        }
    }

    /// The fields this dimension sets.
    public var keys: Set<Key> { Set(Key.allCases.filter { self[$0] != nil }) }

    public var isEmpty: Bool { keys.isEmpty }

    /// True when every field `self` (a row) declares has the same value in `request`.
    public func selects(_ request: PriceDimension) -> Bool {
        Key.allCases.allSatisfy { key in self[key] == nil || self[key] == request[key] }
    }

    /// True when every field `self` declares equals the request's or is ``anyOther`` with the
    /// request giving some value: the fallback match, used only when no exact row matches.
    public func selectsAsFallback(_ request: PriceDimension) -> Bool {
        Key.allCases.allSatisfy { key in
            self[key] == nil || self[key] == request[key] || (self[key] == Self.anyOther && request[key] != nil)
        }
    }

    /// The request restricted to the given fields, for reporting what was looked for.
    public func projected(onto keys: Set<Key>) -> PriceDimension {
        var result = PriceDimension()
        for key in keys { result[key] = self[key] }
        return result
    }

    public var description: String {
        Key.allCases.compactMap { key in self[key].map { "\(key.rawValue)=\($0)" } }.joined(separator: ",")
    }

    public static func < (lhs: PriceDimension, rhs: PriceDimension) -> Bool { lhs.description < rhs.description }
}

import Foundation

/// The generation's JSON columns read with `WireJSON` instead of `JSONDecoder`, for the forms
/// the columns hold (what `GenerationColumnsEncoding` writes, as PostgreSQL gives jsonb back).
/// Each returns nil for anything outside them (a number in a form the fast path does not judge,
/// a missing member, a wrong type) and the caller decodes that text with Foundation, which
/// answers as it always did, errors included. `GenerationColumnsJSONTests` compares both.
public enum GenerationColumnsDecoding {
    public static func settings(_ text: String) -> GenerationSettings? {
        try? settings(parse(text))
    }

    public static func candidates(_ text: String) -> [GenerationCandidate]? {
        try? array(parse(text)).map(candidate)
    }

    public static func costBreakdown(_ text: String) -> CostBreakdown? {
        try? costBreakdown(parse(text))
    }

    /// The submission marked in flight (set on every generation started at admission).
    public static func submission(_ text: String) -> InFlightSubmission? {
        guard let members = try? object(parse(text)), let provider: ProviderID = try? rawValue(members["provider"]),
              let model = try? string(members["model"]) else { return nil }
        return InFlightSubmission(provider: provider, model: model)
    }

    // MARK: Columns

    private static func settings(_ json: WireJSON) throws(OutsideSubset) -> GenerationSettings {
        let members = try object(json)
        var parameters = GenerationParameters()
        for name in ParameterName.allCases {
            // As `GenerationSettings.init(from:)`: a string, else a boolean, else an integer, else a
            // decimal; a value of none of these (an object, an array) is skipped.
            switch members[name.rawValue] {
            case nil, .null?, .array?, .object?: continue
            case .string(let text)?: parameters.set(name, to: .string(text))
            case .bool(let flag)?: parameters.set(name, to: .boolean(flag))
            case .number(let text)?:
                // Digits only: an integer, or past `Int` a decimal (Foundation's `Int` refuses it too).
                guard isPlainInteger(text) else { throw OutsideSubset() }
                if let number = Int(text) {
                    parameters.set(name, to: .integer(number))
                } else {
                    parameters.set(name, to: .decimal(try decimal(.number(text))))
                }
            }
        }
        if parameters.count == nil, let count = try optional(members["n"], int) {
            parameters.count = count
        }
        parameters.chat = try optional(members["chat"], chatOptions)
        return GenerationSettings(parameters: parameters)
    }

    private static func chatOptions(_ json: WireJSON) throws(OutsideSubset) -> ChatOptions {
        let members = try object(json)
        return ChatOptions(messages: try array(members["messages"]).map(chatMessage),
                           temperature: try optional(members["temperature"], decimal),
                           topP: try optional(members["top_p"], decimal),
                           seed: try optional(members["seed"], int),
                           stop: try optional(members["stop"]) { (json) throws(OutsideSubset) in try array(json).map(string) },
                           presencePenalty: try optional(members["presence_penalty"], decimal),
                           frequencyPenalty: try optional(members["frequency_penalty"], decimal),
                           store: try optional(members["store"], bool))
    }

    private static func chatMessage(_ json: WireJSON) throws(OutsideSubset) -> ChatMessage {
        let members = try object(json)
        return ChatMessage(role: try string(members["role"]), content: try string(members["content"]),
                           name: try optional(members["name"], string))
    }

    private static func candidate(_ json: WireJSON) throws(OutsideSubset) -> GenerationCandidate {
        let members = try object(json)
        // The initializer keeps `unpriced` only when true; a stored `false` is left to Foundation.
        let unpriced = try optional(members["unpriced"], bool)
        guard unpriced != false else { throw OutsideSubset() }
        return GenerationCandidate(provider: try rawValue(members["provider"]), model: try string(members["model"]),
                                   estimate: try money(members["estimate"]), unpriced: unpriced == true,
                                   inputTokens: try optional(members["inputTokens"], int))
    }

    private static func costBreakdown(_ json: WireJSON) throws(OutsideSubset) -> CostBreakdown {
        let members = try object(json)
        return CostBreakdown(provider: try string(members["provider"]), model: try string(members["model"]),
                             pricingVersionId: try string(members["pricingVersionId"]), currency: try string(members["currency"]),
                             status: try rawValue(members["status"]), lines: try array(members["lines"]).map(costLine),
                             total: try optional(members["total"], money), missing: try array(members["missing"]).map(missingPrice))
    }

    private static func costLine(_ json: WireJSON) throws(OutsideSubset) -> CostLine {
        let members = try object(json)
        return CostLine(unit: try optional(members["unit"], rawValue), dimension: try dimension(members["dimension"]),
                        quantity: try decimal(members["quantity"]), billedQuantity: try decimal(members["billedQuantity"]),
                        price: try money(members["price"]), per: try int(members["per"]), subtotal: try money(members["subtotal"]),
                        source: try string(members["source"]), confidence: try optional(members["confidence"], rawValue),
                        estimateOnly: try bool(members["estimateOnly"]))
    }

    private static func missingPrice(_ json: WireJSON) throws(OutsideSubset) -> MissingPrice {
        let members = try object(json)
        return MissingPrice(unit: try optional(members["unit"], rawValue), dimension: try dimension(members["dimension"]),
                            reason: try rawValue(members["reason"]),
                            missingKeys: try array(members["missingKeys"]).map { (json) throws(OutsideSubset) in try rawValue(json) })
    }

    private static func dimension(_ json: WireJSON?) throws(OutsideSubset) -> PriceDimension {
        let members = try object(json)
        return PriceDimension(size: try optional(members["size"], string), quality: try optional(members["quality"], string),
                              resolution: try optional(members["resolution"], string), audio: try optional(members["audio"], string))
    }

    // MARK: Values

    struct OutsideSubset: Error {}

    private static func parse(_ text: String) throws(OutsideSubset) -> WireJSON {
        do {
            return try WireJSON.parse(text)
        } catch {
            throw OutsideSubset()
        }
    }

    /// `decodeIfPresent`: nil when absent or null.
    private static func optional<T>(_ json: WireJSON?, _ read: (WireJSON) throws(OutsideSubset) -> T) throws(OutsideSubset) -> T? {
        guard let json, json != .null else { return nil }
        return try read(json)
    }

    private static func object(_ json: WireJSON?) throws(OutsideSubset) -> WireJSONObject {
        guard case .object(let members)? = json else { throw OutsideSubset() }
        return members
    }

    private static func array(_ json: WireJSON?) throws(OutsideSubset) -> [WireJSON] {
        guard case .array(let items)? = json else { throw OutsideSubset() }
        return items
    }

    private static func string(_ json: WireJSON?) throws(OutsideSubset) -> String {
        guard case .string(let text)? = json else { throw OutsideSubset() }
        return text
    }

    private static func bool(_ json: WireJSON?) throws(OutsideSubset) -> Bool {
        guard case .bool(let flag)? = json else { throw OutsideSubset() }
        return flag
    }

    /// Integers written as digits only: Foundation also takes `1.0` or `1e2` for an `Int` (through
    /// a `Double`), a judgement left to it.
    private static func int(_ json: WireJSON?) throws(OutsideSubset) -> Int {
        guard case .number(let text)? = json, isPlainInteger(text), let number = Int(text) else { throw OutsideSubset() }
        return number
    }

    /// Exact, from the number's text, as Foundation reads a `Decimal`. A quantity is usually a count
    /// (tokens, images): digits only, read as the integer they are, where Foundation's reader looks
    /// up a locale and scans (a fifth of a cost line's decoding).
    private static func decimal(_ json: WireJSON?) throws(OutsideSubset) -> Decimal {
        guard case .number(let text)? = json else { throw OutsideSubset() }
        if text.utf8.count <= 18, isPlainInteger(text), let count = Int64(text) { return Decimal(count) }
        guard let number = Decimal(string: text, locale: posix) else { throw OutsideSubset() }
        return number
    }

    private static func money(_ json: WireJSON?) throws(OutsideSubset) -> Money {
        guard case .string(let text)? = json, let amount = try? Money(parsing: text, allowNegative: true) else { throw OutsideSubset() }
        return amount
    }

    private static func rawValue<T: RawRepresentable>(_ json: WireJSON?) throws(OutsideSubset) -> T where T.RawValue == String {
        guard case .string(let text)? = json, let value = T(rawValue: text) else { throw OutsideSubset() }
        return value
    }

    private static func isPlainInteger(_ text: String) -> Bool {
        var digits = text.utf8[...]
        if digits.first == UInt8(ascii: "-") { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    private static let posix = Locale(identifier: "en_US_POSIX")
}

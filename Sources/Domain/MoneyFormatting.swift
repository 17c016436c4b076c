import Foundation

extension Money {
    /// The wire form: exact, no exponent, at least two decimals ("12.50", "0.0000025", "-3.00").
    /// Parsing it with ``init(parsing:allowNegative:)`` gives back the same amount.
    public var jsonString: String {
        Self.plainString(amount, minimumScale: 2)
    }

    /// Rounded for display, half away from zero (see the type's rounding rules).
    public func rounded(scale: Int) -> Money {
        Money(uncheckedAmount: amount.rounded(scale: Swift.max(0, Swift.min(scale, Self.maximumScale)), mode: .plain))
    }

    /// Display text with exactly `scale` decimals, rounded half away from zero: 0.125 → "0.13".
    public func formatted(scale: Int = 2) -> String {
        let clamped = Swift.max(0, Swift.min(scale, Self.maximumScale))
        let text = Self.plainString(rounded(scale: clamped).amount, minimumScale: clamped)
        return text
    }

    /// Digits from `Decimal.description`, which prints plain notation, then re-padded; the
    /// shape is checked so a change in Foundation's printing cannot leak an exponent.
    static func plainString(_ value: Decimal, minimumScale: Int) -> String {
        var text = value.description
        precondition(text.allSatisfy { $0.isASCIIDigit || $0 == "." || $0 == "-" }, "unexpected Decimal text \(text)")
        if !text.contains(".") { text += "." }
        let fraction = text.split(separator: ".", omittingEmptySubsequences: false).last?.count ?? 0
        if fraction < minimumScale { text += String(repeating: "0", count: minimumScale - fraction) }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}

extension Money: CustomStringConvertible {
    public var description: String { jsonString }
}

/// Amounts travel as JSON strings so that no client parses them into a binary float.
/// Decoding accepts negative amounts (deltas, refunds); inputs that must be non-negative are
/// checked where they are validated (``Money/init(parsing:allowNegative:)`` or ``Money/isNegative``).
extension Money: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let text = try? container.decode(String.self) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "Amounts are JSON strings such as \"12.50\".")
        }
        do {
            self = try Money(parsing: text, allowNegative: true)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(jsonString)
    }
}

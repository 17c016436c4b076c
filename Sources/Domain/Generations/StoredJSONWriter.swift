import Foundation

/// Writes JSON text byte for byte as `JSONEncoder` with `.sortedKeys` (and no other option) writes
/// it: compact, `/` escaped as `\/`, other control characters as `\u00xx` in lower-case hex,
/// `Decimal` as its `description`, `Money` as its `jsonString`. The caller writes members in key
/// order; `GenerationColumnsEncoding` holds each column's order.
///
/// For the generation's JSON columns, written on every generation: Foundation's encoder builds a
/// tree of boxed values and sorts every object's keys on each call, which was a tenth of a chat
/// completion's CPU. A value Foundation would write but JSON cannot hold (a NaN `Decimal`) throws
/// `Unsupported`, so the caller hands it to Foundation and gets Foundation's answer, unchanged.
public struct StoredJSONWriter {
    public struct Unsupported: Error {}

    public private(set) var bytes: [UInt8] = []
    /// Whether the next value or key follows another in the same container.
    private var needsComma = false

    public init() {
        bytes.reserveCapacity(256)
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// `"name":`, after a comma when a member came before.
    public mutating func key(_ name: String) {
        separate()
        appendString(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func string(_ value: String) {
        separate()
        appendString(value)
        needsComma = true
    }

    public mutating func int(_ value: Int) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
        needsComma = true
    }

    public mutating func decimal(_ value: Decimal) throws(Unsupported) {
        guard !value.isNaN else { throw Unsupported() }
        separate()
        if !Self.appendDigits(of: value, minimumScale: 0, to: &bytes) { bytes.append(contentsOf: value.description.utf8) }
        needsComma = true
    }

    public mutating func money(_ value: Money) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        if !Self.appendDigits(of: value.amount, minimumScale: 2, to: &bytes) { bytes.append(contentsOf: value.jsonString.utf8) }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// `Money.jsonString`, from the amount's digits as `money(_:)` writes them.
    public static func moneyText(_ value: Money) -> String {
        var digits: [UInt8] = []
        guard appendDigits(of: value.amount, minimumScale: 2, to: &digits) else { return value.jsonString }
        return String(decoding: digits, as: UTF8.self)
    }

    /// `Decimal.description` (plain notation: the significand's digits, the point placed by the
    /// exponent), with at least `minimumScale` decimals as `Money.plainString` pads them, taken
    /// from the significand as an integer (`DecimalParts`): `description` divides per digit and
    /// builds a String, microseconds for each amount. False, with nothing written, for a value
    /// `DecimalParts` does not read (a significand past 64 bits); zero is written here.
    static func appendDigits(of value: Decimal, minimumScale: Int, to bytes: inout [UInt8]) -> Bool {
        if value.isZero {
            bytes.append(UInt8(ascii: "0"))
            if minimumScale > 0 {
                bytes.append(UInt8(ascii: "."))
                bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: minimumScale))
            }
            return true
        }
        guard let parts = DecimalParts(value) else { return false }
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var significand = parts.significand
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(significand % 10))
            significand /= 10
        } while significand > 0
        digits.reverse()
        if parts.negative { bytes.append(UInt8(ascii: "-")) }
        var scale = 0
        if parts.exponent >= 0 {
            bytes.append(contentsOf: digits)
            bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: parts.exponent))
        } else {
            scale = -parts.exponent
            if digits.count > scale {
                bytes.append(contentsOf: digits[..<(digits.count - scale)])
                bytes.append(UInt8(ascii: "."))
                bytes.append(contentsOf: digits[(digits.count - scale)...])
            } else {
                bytes.append(UInt8(ascii: "0"))
                bytes.append(UInt8(ascii: "."))
                bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: scale - digits.count))
                bytes.append(contentsOf: digits)
            }
        }
        if scale < minimumScale {
            if scale == 0 { bytes.append(UInt8(ascii: ".")) }
            bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: minimumScale - scale))
        }
        return true
    }

    // Optional members are left out when nil, as synthesized `Encodable` does (`encodeIfPresent`).

    public mutating func member(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    public mutating func member(_ name: String, _ value: Int?) {
        guard let value else { return }
        key(name)
        int(value)
    }

    public mutating func member(_ name: String, _ value: Bool?) {
        guard let value else { return }
        key(name)
        bool(value)
    }

    public mutating func member(_ name: String, _ value: Decimal?) throws(Unsupported) {
        guard let value else { return }
        key(name)
        try decimal(value)
    }

    public mutating func member(_ name: String, _ value: Money?) {
        guard let value else { return }
        key(name)
        money(value)
    }

    /// A member whose value is JSON text written already (by this writer or Foundation's encoder).
    public mutating func member(_ name: String, json value: String?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: value.utf8)
        needsComma = true
    }

    /// A string-keyed map of strings, its keys in UTF-8 byte order (Foundation's sorted order on Linux).
    public mutating func stringMap(_ map: [String: String]) {
        beginObject()
        for (name, value) in map.sorted(by: { Self.precedes($0.key, $1.key) }) {
            key(name)
            string(value)
        }
        endObject()
    }

    /// UTF-8 byte order of two keys.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    /// As Foundation's encoder writes a string: `/` escaped too.
    private mutating func appendString(_ text: String) {
        WireJSON.writeString(text, into: &bytes, escapingSlash: true)
    }
}

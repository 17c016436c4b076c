import Foundation

/// A finite `Decimal` as sign, exponent and an integer significand below 2^64, read from its
/// storage (exponent byte, length and sign bits, sixteen-bit words of the significand: the
/// `NSDecimal` layout, which swift-foundation keeps). Foundation offers no public way to the
/// significand as an integer but `NSDecimalNumber`, and its comparisons and arithmetic normalise
/// multi-word significands: microseconds for each amount of a listed page. The layout is checked
/// against values built through the public API once; if it ever differs, `init` answers nil
/// for everything and callers take Foundation's path.
public struct DecimalParts: Equatable, Sendable {
    public let negative: Bool
    public let exponent: Int
    public let significand: UInt64

    public init?(_ value: Decimal) {
        guard Self.layoutKnown, let parts = Self.read(value) else { return nil }
        self = parts
    }

    init(negative: Bool, exponent: Int, significand: UInt64) {
        self.negative = negative
        self.exponent = exponent
        self.significand = significand
    }

    /// Nil for NaN, zero and significands of more than four words.
    private static func read(_ value: Decimal) -> DecimalParts? {
        withUnsafeBytes(of: value) { bytes -> DecimalParts? in
            guard bytes.count >= 20 else { return nil }
            let flags = bytes[1]
            let length = Int(flags >> 4)
            guard length > 0, length <= 4 else { return nil }
            var significand: UInt64 = 0
            for word in stride(from: length - 1, through: 0, by: -1) {
                significand = significand << 16 | UInt64(bytes[4 + 2 * word]) | UInt64(bytes[5 + 2 * word]) << 8
            }
            return DecimalParts(negative: flags & 0x08 != 0, exponent: Int(Int8(bitPattern: bytes[0])), significand: significand)
        }
    }

    /// The layout holds for values whose parts the public API states.
    private static let layoutKnown: Bool = {
        let samples: [(Decimal, DecimalParts?)] = [
            (Decimal(sign: .plus, exponent: -2, significand: 1234), DecimalParts(negative: false, exponent: -2, significand: 1234)),
            (Decimal(sign: .minus, exponent: 3, significand: 7), DecimalParts(negative: true, exponent: 3, significand: 7)),
            (Decimal(UInt64.max), DecimalParts(negative: false, exponent: 0, significand: .max)),
            (Decimal(sign: .minus, exponent: -10, significand: Decimal(UInt64(1) << 40 + 5)),
             DecimalParts(negative: true, exponent: -10, significand: UInt64(1) << 40 + 5)),
            (Decimal(UInt64.max) + 1, nil), (Decimal.zero, nil), (Decimal.nan, nil),
        ]
        return samples.allSatisfy { value, parts in
            read(value) == parts && (parts == nil || (value.exponent == parts?.exponent && (value.sign == .minus) == parts?.negative))
        }
    }()
}

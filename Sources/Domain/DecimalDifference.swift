import Foundation

extension Decimal {
    /// `self − other` as Foundation computes it, representation included (the result of a
    /// computation has no trailing zeros in its significand; a zero operand gives the other one
    /// back as it is, negated for `0 − x`), done on 128-bit integers when both fit; nil otherwise.
    func fixedPointDifference(_ other: Decimal) -> Decimal? {
        guard !isNaN, !other.isNaN else { return nil }
        if isZero { return -other }
        if other.isZero { return self }
        guard let lhs = DecimalParts(self), let rhs = DecimalParts(other) else { return nil }
        let exponent = Swift.min(lhs.exponent, rhs.exponent)
        guard let left = Self.aligned(lhs.significand, by: lhs.exponent - exponent),
              let right = Self.aligned(rhs.significand, by: rhs.exponent - exponent) else { return nil }
        // lhs − rhs = lhs + (−rhs): the terms' signs are lhs.negative and !rhs.negative.
        let negative: Bool
        var magnitude: UInt128
        if lhs.negative != rhs.negative {
            negative = lhs.negative
            magnitude = left + right
        } else if left >= right {
            negative = lhs.negative
            magnitude = left - right
        } else {
            negative = !lhs.negative
            magnitude = right - left
        }
        guard magnitude != 0 else { return .zero }
        var resultExponent = exponent
        while magnitude % 10 == 0 {
            magnitude /= 10
            resultExponent += 1
        }
        guard magnitude <= UInt128(UInt64.max), resultExponent <= Int(Int8.max) else { return nil }
        return Decimal(sign: negative ? .minus : .plus, exponent: resultExponent, significand: Decimal(UInt64(magnitude)))
    }

    /// `value × 10^digits` while it stays below 10^37, where Foundation's 38-digit arithmetic is exact.
    private static func aligned(_ value: UInt64, by digits: Int) -> UInt128? {
        var result = UInt128(value)
        for _ in 0..<digits {
            result *= 10
            guard result < 10_000_000_000_000_000_000_000_000_000_000_000_000 else { return nil }
        }
        return result
    }
}

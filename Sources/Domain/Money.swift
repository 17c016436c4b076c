import Foundation

/// An exact amount of money in the workspace's accounting currency.
///
/// The value is a `Decimal` with at most ``maximumScale`` (10) fractional digits, matching the
/// `numeric(…, 10)` columns and the JSON wire format (`"12.50"`). No `Double` ever touches it:
/// amounts are built from strings or from integers and a power-of-ten exponent.
///
/// Currency is carried beside the amount (price rows, cost breakdowns, budgets), not inside it,
/// because the whole workspace accounts in one currency and mixing is refused where sums are made.
///
/// Rounding rules, the only two places an amount is ever rounded:
/// - **Arithmetic** that would produce more than 10 fractional digits (only possible with
///   imported prices finer than the catalog's own) is rounded *half to even* (banker's) at 10
///   decimals, so sub-nano-dollar residues do not drift one way over many sums.
/// - **Display** (``formatted(scale:)``, ``rounded(scale:)``) rounds *half away from zero*
///   ("0.125" → "0.13", "-0.125" → "-0.13") at the scale asked for; the stored and transmitted
///   amount stays exact.
public struct Money: Sendable, Hashable, Comparable {
    /// The most fractional digits an amount may carry, on the wire and in storage.
    public static let maximumScale = 10

    /// The exact amount; never NaN, never more than ``maximumScale`` fractional digits.
    public let amount: Decimal

    public static let zero = Money(uncheckedAmount: 0)

    init(uncheckedAmount: Decimal) {
        self.amount = uncheckedAmount
    }

    /// `units × 10^-scale`, e.g. `Money(units: 1250, scale: 2)` is 12.50.
    public init(units: Int64, scale: Int) throws(MoneyFormatError) {
        guard (0...Self.maximumScale).contains(scale) else { throw .tooManyDecimals(maximum: Self.maximumScale) }
        let magnitude = Decimal(units.magnitude)
        self.amount = Decimal(sign: units < 0 ? .minus : .plus, exponent: -scale, significand: magnitude)
    }

    /// Accepts a `Decimal` only if it is finite and has at most 10 fractional digits.
    public init(exactly amount: Decimal) throws(MoneyFormatError) {
        guard amount.isFinite else { throw .notANumber }
        guard amount.fractionalDigitCount <= Self.maximumScale else {
            throw .tooManyDecimals(maximum: Self.maximumScale)
        }
        self.amount = amount
    }

    /// Rounds half to even at 10 decimals when needed; see the type's rounding rules.
    public init(roundingToMaximumScale amount: Decimal) {
        self.amount = amount.rounded(scale: Self.maximumScale, mode: .bankers)
    }

    public var isNegative: Bool { amount < 0 }
    public var isZero: Bool { amount.isZero }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.amount < rhs.amount }

    public static func + (lhs: Money, rhs: Money) -> Money {
        Money(roundingToMaximumScale: lhs.amount + rhs.amount)
    }

    /// On integers when both amounts fit 64 bits (a budget's `remaining` on every listed project);
    /// the same `Decimal`, digit for digit, as Foundation's subtraction, which costs microseconds.
    public static func - (lhs: Money, rhs: Money) -> Money {
        Money(roundingToMaximumScale: lhs.amount.fixedPointDifference(rhs.amount) ?? lhs.amount - rhs.amount)
    }

    public static prefix func - (value: Money) -> Money {
        Money(uncheckedAmount: -value.amount)
    }

    /// Price × quantity (tokens, seconds, images …). Quantities are exact decimals too.
    public static func * (lhs: Money, rhs: Decimal) -> Money {
        Money(roundingToMaximumScale: lhs.amount * rhs)
    }

    public static func += (lhs: inout Money, rhs: Money) { lhs = lhs + rhs }

    public static func sum<S: Sequence>(_ values: S) -> Money where S.Element == Money {
        values.reduce(.zero, +)
    }
}

extension Decimal {
    /// Fractional digits in the shortest exact representation ("12.50" → 1, "3" → 0).
    var fractionalDigitCount: Int {
        guard !isZero else { return 0 }
        var compact = self
        // Arithmetic can leave trailing zeros in the significand (150e-2); compacting strips them.
        NSDecimalCompact(&compact)
        return Swift.max(0, -Int(compact.exponent))
    }

    func rounded(scale: Int, mode: NSDecimalNumber.RoundingMode) -> Decimal {
        guard fractionalDigitCount > scale else { return self }
        var value = self
        var result = Decimal()
        NSDecimalRound(&result, &value, scale, mode)
        return result
    }
}

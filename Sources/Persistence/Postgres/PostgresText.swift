import Foundation

/// Readers for PostgreSQL's text output of `bigint`, `numeric` and `uuid`, working on the UTF-8
/// bytes. Foundation's `Decimal(string:locale:)` and `UUID(uuidString:)` cost more than the rest of
/// a row's decoding together (a locale per call, `sscanf`), and every listed row carries several.
/// Each reader answers nil for text outside the plain form it knows, and the caller falls back to
/// Foundation, so the result is always what Foundation would have read.
enum PostgresText {
    static let posix = Locale(identifier: "en_US_POSIX")

    /// `[+-]digits`, as `Int64(_:)` reads it.
    static func integer(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !bytes.isEmpty else { return nil }
        var index = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative || bytes[0] == UInt8(ascii: "+") { index = 1 }
        guard index < bytes.count else { return nil }
        var magnitude: UInt64 = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// `[-]digits[.digits]` with at most 19 significant digits (what `numeric` prints for amounts),
    /// as the compact `Decimal` Foundation builds from the same text; nil for anything else.
    static func decimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Decimal? {
        guard !bytes.isEmpty else { return nil }
        var index = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var exponent = 0
        var sawDigit = false
        var sawPoint = false
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: ".") {
                guard !sawPoint else { return nil }
                sawPoint = true
                continue
            }
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            sawDigit = true
            if sawPoint { exponent -= 1 }
            if mantissa == 0 && digit == 0 { continue }
            significantDigits += 1
            guard significantDigits <= 19 else { return nil }
            mantissa = mantissa * 10 + UInt64(digit)
        }
        guard sawDigit else { return nil }
        guard mantissa != 0 else { return negative ? nil : Decimal.zero }
        while mantissa % 10 == 0 {
            mantissa /= 10
            exponent += 1
        }
        return Decimal(sign: negative ? .minus : .plus, exponent: exponent, significand: Decimal(mantissa))
    }
}

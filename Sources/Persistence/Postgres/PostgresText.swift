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

    /// The canonical `8-4-4-4-12` hexadecimal form, either case. Branch-light: a page of rows
    /// reads one or two per row, and the digit-by-digit optional checks were most of its decoding.
    static func uuid(_ bytes: UnsafeBufferPointer<UInt8>) -> UUID? {
        guard bytes.count == 36, let text = bytes.baseAddress else { return nil }
        let dash = UInt8(ascii: "-")
        guard text[8] == dash, text[13] == dash, text[18] == dash, text[23] == dash else { return nil }
        var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var invalid: UInt8 = 0
        withUnsafeMutableBytes(of: &value) { out in
            var index = 0
            for position in 0..<16 {
                if index == 8 || index == 13 || index == 18 || index == 23 { index += 1 }
                let high = hexValue(text[index])
                let low = hexValue(text[index + 1])
                invalid |= high | low
                out[position] = high << 4 | low & 0x0F
                index += 2
            }
        }
        return invalid & 0xF0 == 0 ? UUID(uuid: value) : nil
    }

    /// A hexadecimal digit's value, or a value above 0x0F for any other byte. Without branches:
    /// ids are random, so a branch on digit-or-letter was mispredicted for about every other one.
    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> UInt8 {
        let isDigit: UInt8 = byte &- UInt8(ascii: "0") < 10 ? 1 : 0
        // Setting 0x20 maps exactly `A`…`F` onto `a`…`f`.
        let isLetter: UInt8 = (byte | 0x20) &- UInt8(ascii: "a") < 6 ? 1 : 0
        // `0`…`9` are 0x30…0x39, letters 0x41…0x46 and 0x61…0x66: the low nibble, plus 9 for a letter.
        let value = (byte & 0x0F) &+ 9 &* (byte >> 6)
        return value | (1 &- (isDigit | isLetter)) << 4
    }
}

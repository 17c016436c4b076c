import Domain
import Foundation

/// The scalar values of `JSONStreamWriter`, each written as Foundation's encoder writes it in the
/// API's dialect (`JSONCoding.foundationEncoder`).
extension JSONStreamWriter {
    func writeString(_ string: String) {
        if string.utf8.withContiguousStorageIfAvailable({ writeString(utf8: $0) }) == nil {
            var copy = string
            copy.withUTF8 { writeString(utf8: $0) }
        }
    }

    private func writeString(utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        // Most texts need no escape: one scan, one copy.
        if !Self.needsEscape(utf8) {
            bytes.append(contentsOf: utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        var runStart = 0
        for (index, byte) in utf8.enumerated() {
            let escape: (UInt8, UInt8)?
            switch byte {
            case UInt8(ascii: "\""): escape = (UInt8(ascii: "\\"), UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): escape = (UInt8(ascii: "\\"), UInt8(ascii: "\\"))
            case 0x08: escape = (UInt8(ascii: "\\"), UInt8(ascii: "b"))
            case 0x0C: escape = (UInt8(ascii: "\\"), UInt8(ascii: "f"))
            case 0x0A: escape = (UInt8(ascii: "\\"), UInt8(ascii: "n"))
            case 0x0D: escape = (UInt8(ascii: "\\"), UInt8(ascii: "r"))
            case 0x09: escape = (UInt8(ascii: "\\"), UInt8(ascii: "t"))
            case 0x00..<0x20: escape = nil
            default: continue
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            runStart = index + 1
            if let (first, second) = escape {
                bytes.append(first)
                bytes.append(second)
            } else {
                // \u00XX with lower-case hex digits, as Foundation writes other control characters.
                writeLiteral("\\u00")
                bytes.append(Self.hexDigit(byte >> 4))
                bytes.append(Self.hexDigit(byte & 0x0F))
            }
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        bytes.append(UInt8(ascii: "\""))
    }

    /// Whether any byte is a quote, a backslash or below 0x20; eight bytes at a time (a zero byte
    /// in a word is found with the usual subtract-and-mask), the rest one by one.
    static func needsEscape(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = utf8.baseAddress else { return false }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ word: UInt64) -> Bool { (word &- ones) & ~word & highs != 0 }
        var index = 0
        while index + 8 <= utf8.count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            // A byte below 0x20 has its top three bits clear.
            if hasZeroByte(word ^ (0x22 &* ones)) || hasZeroByte(word ^ (0x5C &* ones)) || hasZeroByte(word & (0xE0 &* ones)) {
                return true
            }
            index += 8
        }
        while index < utf8.count {
            let byte = base[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return true }
            index += 1
        }
        return false
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    /// `Money.jsonString` in quotes: the digits of the amount (`Decimal.description`) with at least
    /// two decimals. Amounts are most of a project list's values, and `description` costs
    /// microseconds each (a 200-byte buffer, a division per digit, a String), so the digits are
    /// taken from the significand as an integer (`DecimalParts`, not `NSDecimalNumber` and a
    /// `Decimal` comparison, which cost as much again) and the point placed by the exponent; the
    /// tests hold this to `jsonString`. A significand beyond 64 bits takes `description`.
    func writeMoney(_ money: Money) {
        let amount = money.amount
        guard !amount.isZero else {
            writeLiteral("\"0.00\"")
            return
        }
        guard let parts = DecimalParts(amount) else {
            writeMoneyText(amount.description, fallback: money)
            return
        }
        var mantissa = parts.significand
        // The digits, backwards, then the text in order: both on the stack (an amount is at most
        // 20 digits, a point, up to 128 zeros, a sign and quotes), appended to the body at once.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { digits in
            repeat {
                digits[count] = UInt8(ascii: "0") + UInt8(mantissa % 10)
                mantissa /= 10
                count += 1
            } while mantissa > 0
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 160) { text in
                var length = 0
                func put(_ byte: UInt8) {
                    text[length] = byte
                    length += 1
                }
                put(UInt8(ascii: "\""))
                if parts.negative { put(UInt8(ascii: "-")) }
                let exponent = parts.exponent
                if exponent >= 0 {
                    for index in stride(from: count - 1, through: 0, by: -1) { put(digits[index]) }
                    for _ in 0..<exponent { put(UInt8(ascii: "0")) }
                    put(UInt8(ascii: "."))
                    put(UInt8(ascii: "0"))
                    put(UInt8(ascii: "0"))
                } else {
                    let fraction = -exponent
                    if count > fraction {
                        for index in stride(from: count - 1, through: fraction, by: -1) { put(digits[index]) }
                    } else {
                        put(UInt8(ascii: "0"))
                    }
                    put(UInt8(ascii: "."))
                    for _ in count..<max(count, fraction) { put(UInt8(ascii: "0")) }
                    for index in stride(from: min(count, fraction) - 1, through: 0, by: -1) { put(digits[index]) }
                    if fraction < 2 { put(UInt8(ascii: "0")) }
                }
                put(UInt8(ascii: "\""))
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[..<length]))
            }
        }
    }

    /// `Decimal.description` padded to two decimals, as `Money.plainString` does.
    private func writeMoneyText(_ text: String, fallback money: Money) {
        var text = text
        text.withUTF8 { digits in
            guard digits.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") })
            else {
                writeString(money.jsonString)
                return
            }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: digits)
            switch digits.firstIndex(of: UInt8(ascii: ".")).map({ digits.count - $0 - 1 }) {
            case nil: writeLiteral(".00")
            case 0: writeLiteral("00")
            case 1: bytes.append(UInt8(ascii: "0"))
            default: break
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }

    func writeDate(_ date: Date) {
        Timestamp.withQuotedRFC3339(date) { bytes.append(contentsOf: $0) }
    }

    func writeBool(_ value: Bool) {
        writeLiteral(value ? "true" : "false")
    }

    func writeNull() {
        writeLiteral("null")
    }

    @inline(__always)
    func writeLiteral(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    func writeInteger<I: BinaryInteger>(_ value: I) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = UInt64(value.magnitude)
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer.bindMemory(to: UInt8.self)[(20 - count)...]))
        }
    }

    func writeFloatingPoint<F: BinaryFloatingPoint & CustomStringConvertible>(_ value: F) throws {
        // Foundation throws for these under its default strategy; the fallback gives its error.
        guard value.isFinite else { throw StreamUnsupported() }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
    }
}

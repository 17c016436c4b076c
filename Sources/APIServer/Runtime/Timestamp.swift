import Foundation

/// RFC 3339 UTC timestamps with milliseconds, formatted by hand: every log line and many
/// responses carry one, and `gmtime_r` takes glibc's time-zone lock on each call, which the
/// HTTP threads then queue on.
enum Timestamp {
    /// "YYYY-MM-DDTHH:MM:SS.mmmZ"
    static func rfc3339(_ date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendRFC3339(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The same text appended to a byte buffer, as the log writer builds its lines.
    static func appendRFC3339(_ date: Date, to bytes: inout [UInt8]) {
        appendRFC3339(millisecondsSince1970: milliseconds(date), to: &bytes)
    }

    /// Milliseconds since 1970, held to years 0001...9999 (what the format writes; NaN is 1970):
    /// `Int64(_:)` of a date past about the year 292 million, or of an infinite or NaN one, would
    /// trap, and a date from outside (a provider's reset time) must never take the server down.
    static func milliseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded(.down)
        guard !value.isNaN else { return 0 }
        return Int64(min(max(value, Double(earliestMilliseconds)), Double(latestMilliseconds)))
    }

    /// 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
    static let earliestMilliseconds: Int64 = -62_135_596_800_000
    static let latestMilliseconds: Int64 = 253_402_300_799_999

    static func appendRFC3339(millisecondsSince1970 milliseconds: Int64, to bytes: inout [UInt8]) {
        withRFC3339(millisecondsSince1970: milliseconds, quoted: false) { bytes.append(contentsOf: $0) }
    }

    /// `body` with the text in double quotes, as a JSON string (it needs no escape).
    static func withQuotedRFC3339<R>(_ date: Date, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        withRFC3339(millisecondsSince1970: milliseconds(date), quoted: true, body)
    }

    /// The text in 32 bytes on the stack, handed to `body` at once: one capacity check for the
    /// caller's buffer instead of one per byte.
    private static func withRFC3339<R>(millisecondsSince1970 milliseconds: Int64, quoted: Bool,
                                       _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let millisecondsPerDay: Int64 = 86_400_000
        var days = milliseconds / millisecondsPerDay
        var millisecondOfDay = milliseconds % millisecondsPerDay
        if millisecondOfDay < 0 {
            days -= 1
            millisecondOfDay += millisecondsPerDay
        }
        let date = civilDate(daysSince1970: days)
        let secondOfDay = Int(millisecondOfDay / 1000)
        var text: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &text) { buffer in
            var index = 0
            func put(_ value: Int, width: Int) {
                var divisor = 1
                for _ in 1..<width { divisor *= 10 }
                var remaining = value
                while divisor > 0 {
                    buffer[index] = UInt8(48 + (remaining / divisor) % 10)
                    index += 1
                    remaining %= divisor
                    divisor /= 10
                }
            }
            /// Month, day, hours, minutes, seconds: always 0…99, so two digits by one division.
            func putTwo(_ value: Int) {
                buffer[index] = UInt8(48 + value / 10)
                buffer[index + 1] = UInt8(48 + value % 10)
                index += 2
            }
            func put(_ byte: UInt8) {
                buffer[index] = byte
                index += 1
            }
            if quoted { put(UInt8(ascii: "\"")) }
            put(date.year, width: 4)
            put(UInt8(ascii: "-"))
            putTwo(date.month)
            put(UInt8(ascii: "-"))
            putTwo(date.day)
            put(UInt8(ascii: "T"))
            putTwo(secondOfDay / 3600)
            put(UInt8(ascii: ":"))
            putTwo(secondOfDay / 60 % 60)
            put(UInt8(ascii: ":"))
            putTwo(secondOfDay % 60)
            put(UInt8(ascii: "."))
            put(Int(millisecondOfDay % 1000), width: 3)
            put(UInt8(ascii: "Z"))
            if quoted { put(UInt8(ascii: "\"")) }
            return body(UnsafeBufferPointer(start: buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), count: index))
        }
    }

    /// The proleptic Gregorian date of a day count from 1970-01-01. The count is shifted to start
    /// on 0000-03-01, so each leap day falls at the end of its 400-year era's year, and the
    /// months from March on have a fixed 153-days-per-5-months rhythm.
    static func civilDate(daysSince1970 days: Int64) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468                       // days from 0000-03-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097             // 0...146096
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)   // from March 1st
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }
}

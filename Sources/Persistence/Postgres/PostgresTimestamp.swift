import Foundation

/// Formats and parses `timestamptz` text. Connections are opened with `DateStyle=ISO` and
/// `TimeZone=UTC`, so the server always answers `YYYY-MM-DD HH:MM:SS[.ffffff]+00`.
enum PostgresTimestamp {
    /// Microseconds since 1970, held within ±9×10¹⁸ (about the year 287,000; 0 for NaN):
    /// `Int64(_:)` of a date past the year 294,000 or so, or of a non-finite one, would trap.
    static func microseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard !value.isNaN else { return 0 }
        return Int64(min(max(value, -9e18), 9e18))
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`, the microseconds rounded. Written digit by digit:
    /// `String(format:)` (CoreFoundation's formatter) was about 3 % of a chat completion's CPU,
    /// which binds a few timestamps per generation. Years outside 0–9999 keep the formatter's
    /// output (more digits, or a sign).
    static func format(_ date: Date) -> String {
        let micros = microseconds(date)
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let (year, month, day) = (Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
        let (hour, minute, second) = (Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        guard (0...9999).contains(year) else {
            return String(format: "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", year, month, day, hour, minute, second, Int(fraction))
        }
        return String(unsafeUninitializedCapacity: 29) { text in
            var index = 0
            func put(_ value: Int, digits: Int) {
                var rest = value
                for position in stride(from: index + digits - 1, through: index, by: -1) {
                    text[position] = UInt8(truncatingIfNeeded: 48 + rest % 10)
                    rest /= 10
                }
                index += digits
            }
            func put(_ byte: Unicode.Scalar) {
                text[index] = UInt8(ascii: byte)
                index += 1
            }
            put(year, digits: 4)
            put("-"); put(month, digits: 2)
            put("-"); put(day, digits: 2)
            put(" "); put(hour, digits: 2)
            put(":"); put(minute, digits: 2)
            put(":"); put(second, digits: 2)
            put("."); put(Int(fraction), digits: 6)
            put("+"); put(0, digits: 2)
            return index
        }
    }

    /// By hand on the bytes, and the calendar by arithmetic: `timegm` and an array per value were
    /// a visible share of decoding a page of rows.
    static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        guard bytes.count >= 19 else { return nil }
        func number(_ start: Int, _ length: Int) -> Int? {
            var value = 0
            for index in start..<(start + length) {
                guard index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 else { return nil }
                value = value * 10 + Int(bytes[index] - 48)
            }
            return value
        }
        // The fixed head (19 bytes, present by the guard) digit by digit without a check per
        // read: a non-digit anywhere in it makes the whole value unreadable, as before.
        var nonDigit = false
        func digit(_ index: Int) -> Int {
            let value = bytes[index] &- 48
            nonDigit = nonDigit || value > 9
            return Int(value)
        }
        let year = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3)
        let month = digit(5) * 10 + digit(6)
        let day = digit(8) * 10 + digit(9)
        let hour = digit(11) * 10 + digit(12)
        let minute = digit(14) * 10 + digit(15)
        let second = digit(17) * 10 + digit(18)
        guard !nonDigit else { return nil }
        var index = 19
        var micros = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            if digits < 6 { for _ in digits..<6 { micros *= 10 } }
        }
        var offsetSeconds = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            guard let hours = number(index + 1, 2) else { return nil }
            var minutes = 0
            if index + 3 < bytes.count, bytes[index + 3] == UInt8(ascii: ":"), let m = number(index + 4, 2) { minutes = m }
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        }
        let seconds = daysSince1970(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: Double(seconds - offsetSeconds) + Double(micros) / 1_000_000)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date; like `timegm`, a month or day out of
    /// range carries into the next (month 13 is January of the next year).
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let monthIndex = month - 1
        let carriedYear = year + (monthIndex >= 0 ? monthIndex / 12 : (monthIndex - 11) / 12)
        let normalizedMonth = monthIndex - (carriedYear - year) * 12 + 1       // 1...12
        // Count from March so that the leap day ends the year.
        let y = normalizedMonth <= 2 ? carriedYear - 1 : carriedYear
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (normalizedMonth + (normalizedMonth > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

import Domain
import Foundation
@testable import Persistence
import XCTest

/// The hand readers of uuid and timestamptz text against Foundation (uuid) and the reader they
/// replaced (timestamps, kept below as the reference), on many valid and damaged texts.
final class PostgresReaderTests: XCTestCase {
    private static let textBytes = Array("0123456789abcdefABCDEF-gG :.+/ \u{0}".utf8) + [0x7F, 0xC3, 0xFF]

    func testUUIDReaderAgreesWithFoundationOnValidAndDamagedTexts() throws {
        var generator = SystemRandomNumberGenerator()
        var accepted = 0
        var damaged = 0
        for round in 0..<5000 {
            let id = UUID()
            var text = Array(round % 2 == 0 ? id.uuidString.lowercased().utf8 : id.uuidString.utf8)
            if round % 3 == 0 {
                // Mixed case is still the same id.
                text = text.map { byte in Bool.random(using: &generator) ? byte : (byte >= 97 ? byte - 32 : byte) }
            }
            if round % 4 == 1 {
                let position = Int.random(in: 0..<text.count, using: &generator)
                text[position] = Self.textBytes.randomElement(using: &generator) ?? 0
                damaged += 1
            }
            let ours = text.withUnsafeBufferPointer { UUID(canonicalBytes: $0) }
            let foundation = UUID(uuidString: String(decoding: text, as: UTF8.self))
            // The hand reader knows the canonical form only; Foundation is more lenient (it
            // skips a blank or a sign before a pair of digits), and the decoder falls back to it.
            if ours != nil || round % 4 != 1 {
                XCTAssertEqual(ours, foundation, String(decoding: text, as: UTF8.self))
            }
            XCTAssertEqual(try? UUID(postgresText: String(decoding: text, as: UTF8.self)), foundation)
            if ours != nil { accepted += 1 }
        }
        XCTAssertGreaterThan(accepted, 3750)
        XCTAssertGreaterThan(damaged, 1000)
        for bad in ["", "0b6f1f3e-1d7a-4c1e-9a51-7f1b2c3d4e5", "0b6f1f3e1d7a-4c1e-9a51-7f1b2c3d4e5f0", "0b6f1f3e-1d7a-4c1e-9a51-7f1b2c3d4e5f0",
                    "0b6f1f3e-1d7a-4c1e-9a51_7f1b2c3d4e5f", "0b6f1f3e-1d7a-4c1e-9a51-7f1b2c3d4e5@", "0b6f1f3e-1d7a-4c1e-9a51-7f1b2c3d4e5`"] {
            XCTAssertNil(Array(bad.utf8).withUnsafeBufferPointer { UUID(canonicalBytes: $0) }, bad)
        }
    }

    /// Enum columns read on the bytes name the case `init(rawValue:)` names, for every case and
    /// for texts near them (case, spaces, a prefix, a canonically equivalent spelling).
    func testEnumColumnsReadAsRawValuesRead() {
        func check<Value: RawRepresentable & CaseIterable & Equatable>(_: Value.Type) -> Int where Value.RawValue == String {
            var texts = Value.allCases.map(\.rawValue)
            texts += texts.flatMap { [$0.uppercased(), " " + $0, $0 + " ", String($0.dropLast()), $0 + "x", $0.replacingOccurrences(of: "k", with: "\u{212A}")] }
            texts += ["", "K", "\u{212A}", "\u{0}", "ü"]
            for text in texts {
                let read = Array(text.utf8).withUnsafeBufferPointer { PostgresCase<Value>(postgresBytes: $0).value }
                XCTAssertEqual(read, Value(rawValue: text), text)
                XCTAssertEqual(PostgresCase<Value>(postgresText: text).value, Value(rawValue: text), text)
            }
            return texts.count
        }
        XCTAssertGreaterThan(check(BudgetPeriod.self) + check(ApiKeyStatus.self) + check(ProviderID.self), 50)
    }

    func testTimestampWriterAgreesWithTheFormattedText() {
        var generator = SystemRandomNumberGenerator()
        func formatted(_ date: Date) -> String {
            let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
            var seconds = micros / 1_000_000
            var fraction = micros % 1_000_000
            if fraction < 0 { fraction += 1_000_000; seconds -= 1 }
            var time = time_t(seconds)
            var parts = tm()
            gmtime_r(&time, &parts)
            return String(format: "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                          Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(fraction))
        }
        // Year 1 and 9999 at their ends, the epoch and the instant before it, a leap day, a
        // fraction that rounds up into the next second, and year 10000 (the formatter's own text).
        var dates = [-62_135_596_800, 253_402_300_799.999999, 0, -0.000001, 951_782_400, 1_767_225_599.9999996, 253_402_300_800]
            .map { Date(timeIntervalSince1970: $0) }
        for _ in 0..<20000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: -62_135_596_800...253_402_300_799, using: &generator)))
        }
        XCTAssertEqual(PostgresTimestamp.format(dates[0]), "0001-01-01 00:00:00.000000+00")
        XCTAssertEqual(PostgresTimestamp.format(dates[3]), "1969-12-31 23:59:59.999999+00")
        XCTAssertEqual(PostgresTimestamp.format(dates[5]), "2026-01-01 00:00:00.000000+00")
        XCTAssertEqual(PostgresTimestamp.format(dates[6]), "10000-01-01 00:00:00.000000+00")
        XCTAssertEqual(dates.filter { PostgresTimestamp.format($0) != formatted($0) }.map { PostgresTimestamp.format($0) }, [])
    }

    /// Converting such a date to microseconds trapped; it is held within ±9×10¹⁸ µs of 1970 instead.
    func testTimestampWriterHoldsAbsurdDatesInsteadOfTrapping() {
        XCTAssertEqual(PostgresTimestamp.format(Date(timeIntervalSince1970: .nan)), "1970-01-01 00:00:00.000000+00")
        XCTAssertEqual(PostgresTimestamp.microseconds(Date(timeIntervalSince1970: 1e300)), 9_000_000_000_000_000_000)
        XCTAssertEqual(PostgresTimestamp.microseconds(Date(timeIntervalSince1970: -.infinity)), -9_000_000_000_000_000_000)
        XCTAssertEqual(PostgresTimestamp.microseconds(Date(timeIntervalSince1970: -1e300)), -9_000_000_000_000_000_000)
        XCTAssertTrue(PostgresTimestamp.format(Date(timeIntervalSince1970: 1e300)).hasSuffix("+00"))
    }

    func testTimestampReaderAgreesWithTheFormerReader() throws {
        var generator = SystemRandomNumberGenerator()
        var readable = 0
        for round in 0..<20000 {
            let seconds = Int64.random(in: -5_000_000_000...32_000_000_000, using: &generator)
            let micros = Int.random(in: 0..<1_000_000, using: &generator)
            var text = PostgresTimestamp.format(Date(timeIntervalSince1970: TimeInterval(seconds) + Double(micros) / 1_000_000))
            // Every fraction length PostgreSQL prints (it drops trailing zeros), and other offsets.
            let digits = Int.random(in: 0...6, using: &generator)
            if let point = text.firstIndex(of: "."), let plus = text.firstIndex(of: "+") {
                text.replaceSubrange(point..<plus, with: digits == 0 ? "" : "." + text[text.index(after: point)...].prefix(digits))
            }
            switch round % 5 {
            case 1: text = String(text.dropLast(3)) + ["+05:30", "-08", "+14", "-00:45", "+01"][round % 4]
            case 2:
                var bytes = Array(text.utf8)
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = Self.textBytes.randomElement(using: &generator) ?? 0
                text = String(decoding: bytes, as: UTF8.self)
            case 3: text = String(text.prefix(Int.random(in: 0...text.count, using: &generator)))
            default: break
            }
            let bytes = Array(text.utf8)
            let ours = bytes.withUnsafeBufferPointer { PostgresTimestamp.parse(bytes: $0) }
            let former = bytes.withUnsafeBufferPointer { Self.formerParse(bytes: $0) }
            XCTAssertEqual(ours, former, text)
            if ours != nil { readable += 1 }
        }
        XCTAssertGreaterThan(readable, 12000)
    }

    /// The reader as it was before its fixed head was read without a check per digit.
    private static func formerParse(bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        guard bytes.count >= 19 else { return nil }
        func number(_ start: Int, _ length: Int) -> Int? {
            var value = 0
            for index in start..<(start + length) {
                guard index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 else { return nil }
                value = value * 10 + Int(bytes[index] - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
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
        let seconds = PostgresTimestamp.daysSince1970(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: Double(seconds - offsetSeconds) + Double(micros) / 1_000_000)
    }
}

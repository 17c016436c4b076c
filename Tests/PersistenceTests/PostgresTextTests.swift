import Foundation
import Persistence
import TestSupport
import XCTest

/// Column values are read by hand from PostgreSQL's text output; each reading must be what
/// Foundation reads from the same text (value and printed form), and what PostgreSQL meant.
final class PostgresTextTests: XCTestCase {
    private let posix = Locale(identifier: "en_US_POSIX")

    func testNumericTextReadsAsFoundationReadsIt() throws {
        let texts = ["0", "0.00", "1", "-1", "12.50", "12.500000", "100", "1000.000", "0.0000000001", "-0.0000025",
                     "99999999999.99", "1234567890123456789", "12345678901234567890", "0.12345678901234567890123",
                     "123456789012345678901234567890.5", "1e5", "NaN", "-0", "00012.3400", "7.", ".5"]
        for text in texts {
            let foundation = Decimal(string: text, locale: posix)
            let ours = try? Decimal(postgresText: text)
            XCTAssertEqual(ours, foundation, text)
            XCTAssertEqual(ours?.description, foundation?.description, text)
        }
        XCTAssertThrowsError(try Decimal(postgresText: "twelve"))
        XCTAssertThrowsError(try Decimal(postgresText: ""))
    }

    func testRandomAmountsReadAsFoundationReadsThem() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let units = Int64.random(in: -9_999_999_999_999...9_999_999_999_999, using: &generator)
            let scale = Int.random(in: 0...10, using: &generator)
            var digits = String(units.magnitude)
            if scale > 0 {
                digits = String(repeating: "0", count: max(0, scale + 1 - digits.count)) + digits
                digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
            }
            let text = (units < 0 ? "-" : "") + digits
            let foundation = try XCTUnwrap(Decimal(string: text, locale: posix), text)
            let ours = try Decimal(postgresText: text)
            XCTAssertEqual(ours, foundation, text)
            XCTAssertEqual(ours.description, foundation.description, text)
        }
    }

    func testUUIDTextReadsInEitherCase() throws {
        let id = UUID()
        XCTAssertEqual(try UUID(postgresText: id.uuidString.lowercased()), id)
        XCTAssertEqual(try UUID(postgresText: id.uuidString), id)
        for bad in ["", "0b6f1f3e-1d7a-4c1e-9a51-7f1b2c3d4e5", "0b6f1f3e-1d7a-4c1e-9a51-7f1b2c3d4e5g", "0b6f1f3e1d7a-4c1e-9a51-7f1b2c3d4e5f0",
                    "{0b6f1f3e-1d7a-4c1e-9a51-7f1b2c3d4e5f}"] {
            XCTAssertEqual(try? UUID(postgresText: bad), UUID(uuidString: bad), bad)
        }
    }

    func testIntegerTextReadsAsSwiftReadsIt() throws {
        for text in ["0", "-0", "+7", "42", "-9223372036854775808", "9223372036854775807", "9223372036854775808",
                     "-9223372036854775809", "", "-", "1 ", "0x10", "١٢"] {
            XCTAssertEqual(try? Int64(postgresText: text), Int64(text), text)
            XCTAssertEqual(try? Int(postgresText: text), Int(text), text)
        }
    }

    func testTimestampsMatchTheCalendarOverCenturies() throws {
        var generator = SystemRandomNumberGenerator()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        for _ in 0..<2000 {
            let seconds = Int64.random(in: -5_000_000_000...32_000_000_000, using: &generator)
            let expected = Date(timeIntervalSince1970: TimeInterval(seconds))
            let iso = formatter.string(from: expected)                     // 2025-11-24T16:00:00Z
            let text = iso.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "+00")
            XCTAssertEqual(try Date(postgresText: text), expected, text)
        }
        XCTAssertEqual(try Date(postgresText: "2024-02-29 23:59:59.5+00"), Date(timeIntervalSince1970: 1_709_251_199.5))
        XCTAssertEqual(try Date(postgresText: "2024-03-01 01:30:00+01:30"), Date(timeIntervalSince1970: 1_709_251_200))
        XCTAssertEqual(try Date(postgresText: "1969-12-31 23:59:59.000001+00"), Date(timeIntervalSince1970: -0.999999))
    }

    func testValuesFromPostgreSQLReadBack() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        let rows = try connection.query("""
            select x::numeric(20, 6) as amount, x::text as text, g.u as id, g.u::text as id_text,
                   (timestamptz '2026-01-31 12:00:00.123456+00' + x * interval '1 second') as at,
                   extract(epoch from timestamptz '2026-01-31 12:00:00.123456+00' + x * interval '1 second')::float8 as epoch,
                   (x * 1000)::bigint as big, (x * 1000)::bigint::text as big_text
            from (values (0.0), (1.5), (-3.25), (12345678901.123456), (0.000001)) v(x), lateral (select gen_random_uuid() as u) g
            """)
        XCTAssertEqual(rows.count, 5)
        for row in rows {
            let text: String = try row.decode("text")
            XCTAssertEqual(try row.decode("amount", as: Decimal.self), Decimal(string: text, locale: posix), text)
            XCTAssertEqual(try row.decode("id", as: UUID.self).uuidString.lowercased(), try row.decode("id_text", as: String.self))
            let epoch: Decimal = try row.decode("epoch")
            XCTAssertEqual(try row.decode("at", as: Date.self).timeIntervalSince1970,
                           NSDecimalNumber(decimal: epoch).doubleValue, accuracy: 0.000001)
            XCTAssertEqual(try row.decode("big", as: Int64.self), Int64(try row.decode("big_text", as: String.self)))
        }
    }
}

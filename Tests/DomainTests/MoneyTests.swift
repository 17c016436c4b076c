import Foundation
import XCTest
@testable import Domain

final class MoneyTests: XCTestCase {
    func testParsesPlainDecimals() throws {
        XCTAssertEqual(try Money(parsing: "12.50").amount, Decimal(1250) / 100)
        XCTAssertEqual(try Money(parsing: "0").amount, 0)
        XCTAssertEqual(try Money(parsing: "0.0000000001").amount, Decimal(sign: .plus, exponent: -10, significand: 1))
        XCTAssertEqual(try Money(parsing: "123456789012345678.9").amount,
                       Decimal(sign: .plus, exponent: -1, significand: Decimal(digits: "1234567890123456789")))
        XCTAssertEqual(try Money(parsing: "-3.5", allowNegative: true).amount, Decimal(-35) / 10)
    }

    func testNegativeZeroIsZeroNotNaN() throws {
        let zero = try Money(parsing: "-0.00")
        XCTAssertFalse(zero.amount.isNaN)
        XCTAssertTrue(zero.isZero)
        XCTAssertEqual(zero.jsonString, "0.00")
    }

    func testRejectsBadAmounts() {
        let cases: [(String, MoneyFormatError)] = [
            ("", .empty),
            ("0.12345678901", .tooManyDecimals(maximum: 10)),
            ("1e3", .exponentNotAllowed),
            ("2.5E-6", .exponentNotAllowed),
            ("NaN", .notANumber),
            ("nan", .notANumber),
            ("Infinity", .notANumber),
            ("-inf", .notANumber),
            ("-1", .negativeNotAllowed),
            ("-0.01", .negativeNotAllowed),
            (" 1", .malformed),
            ("1 ", .malformed),
            ("+1", .malformed),
            (".5", .malformed),
            ("5.", .malformed),
            ("01", .malformed),
            ("00.5", .malformed),
            ("1,50", .malformed),
            ("1.2.3", .malformed),
            ("--1", .malformed),
            ("１２", .malformed),
            ("0x10", .malformed),
            ("1234567890123456789", .outOfRange),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try Money(parsing: text), text) { error in
                XCTAssertEqual(error as? MoneyFormatError, expected, text)
            }
        }
        XCTAssertEqual(MoneyFormatError.tooManyDecimals(maximum: 10).fieldError("price").code, "amount_too_many_decimals")
    }

    func testWireFormatKeepsTwoDecimalsAndEveryDigit() throws {
        XCTAssertEqual(try Money(parsing: "12.5").jsonString, "12.50")
        XCTAssertEqual(try Money(parsing: "3").jsonString, "3.00")
        XCTAssertEqual(try Money(parsing: "0.0000025").jsonString, "0.0000025")
        XCTAssertEqual(try Money(parsing: "-7.125", allowNegative: true).jsonString, "-7.125")
        XCTAssertEqual(try Money(units: 1, scale: 10).jsonString, "0.0000000001")
        XCTAssertEqual(try Money(units: 1_000_000_000_000, scale: 0).jsonString, "1000000000000.00")
    }

    /// Any amount with ≤ 10 decimals survives text → Money → text → Money unchanged.
    func testRoundTripsRandomAmounts() throws {
        var random = SeededGenerator(seed: 7)
        for _ in 0..<5_000 {
            let units = Int64.random(in: -999_999_999_999_999...999_999_999_999_999, using: &random)
            let scale = Int.random(in: 0...10, using: &random)
            let money = try Money(units: units, scale: scale)
            let text = money.jsonString
            let parsed = try Money(parsing: text, allowNegative: true)
            XCTAssertEqual(parsed, money, text)
            XCTAssertEqual(parsed.jsonString, text)
            XCTAssertFalse(text.contains("e") || text.contains("E"), text)
        }
    }

    func testCodableIsAString() throws {
        struct Body: Codable, Equatable { var limitAmount: Money }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = try encoder.encode(Body(limitAmount: try Money(parsing: "12.5")))
        XCTAssertEqual(String(decoding: data, as: UTF8.self), #"{"limit_amount":"12.50"}"#)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        XCTAssertEqual(try decoder.decode(Body.self, from: data), Body(limitAmount: try Money(parsing: "12.50")))
        XCTAssertThrowsError(try decoder.decode(Body.self, from: Data(#"{"limit_amount":12.5}"#.utf8)))
        XCTAssertThrowsError(try decoder.decode(Body.self, from: Data(#"{"limit_amount":"1e2"}"#.utf8)))
        XCTAssertThrowsError(try decoder.decode(Body.self, from: Data(#"{"limit_amount":"0.00000000001"}"#.utf8)))
    }

    /// Display rounding is half away from zero; the amount itself stays exact.
    func testDisplayRoundingIsHalfAwayFromZero() throws {
        XCTAssertEqual(try Money(parsing: "0.125").formatted(), "0.13")
        XCTAssertEqual(try Money(parsing: "-0.125", allowNegative: true).formatted(), "-0.13")
        XCTAssertEqual(try Money(parsing: "0.124999").formatted(), "0.12")
        XCTAssertEqual(try Money(parsing: "2.5").formatted(scale: 0), "3")
        XCTAssertEqual(try Money(parsing: "0.0000047").formatted(scale: 6), "0.000005")
        XCTAssertEqual(try Money(parsing: "1").formatted(scale: 4), "1.0000")
        XCTAssertEqual(try Money(parsing: "0.125").jsonString, "0.125")
    }

    /// Arithmetic finer than 10 decimals rounds half to even at the tenth decimal.
    func testArithmeticBeyondTenDecimalsRoundsHalfToEven() throws {
        let half = Decimal(sign: .plus, exponent: -11, significand: 5)  // 0.00000000005
        XCTAssertEqual(Money(roundingToMaximumScale: half).amount, 0)
        XCTAssertEqual(Money(roundingToMaximumScale: half * 3).amount, Decimal(sign: .plus, exponent: -10, significand: 2))
        XCTAssertEqual(try Money(parsing: "0.0000000001") * (Decimal(1) / 2), Money.zero)
        XCTAssertEqual(try Money(parsing: "0.0000000003") * (Decimal(1) / 2), try Money(parsing: "0.0000000002"))
    }

    func testArithmeticIsExact() throws {
        // 0.1 + 0.2 is 0.3 exactly in Decimal, unlike in binary floating point.
        XCTAssertEqual(try Money(parsing: "0.1") + (try Money(parsing: "0.2")), try Money(parsing: "0.3"))
        XCTAssertEqual(try Money(parsing: "10.00") - (try Money(parsing: "0.01")), try Money(parsing: "9.99"))
        XCTAssertEqual(try Money(parsing: "0.0000025") * 1_000_000, try Money(parsing: "2.5"))
        XCTAssertEqual(Money.sum([try Money(parsing: "1.10"), try Money(parsing: "2.20"), try Money(parsing: "3.30")]), try Money(parsing: "6.6"))
        XCTAssertTrue(try Money(parsing: "0.01") < (try Money(parsing: "0.1")))
        XCTAssertThrowsError(try Money(exactly: Decimal(sign: .plus, exponent: -11, significand: 1)))
        XCTAssertThrowsError(try Money(exactly: .nan))
    }

    func testJSONNumberLiteralsAreReadFromTheirDigits() throws {
        XCTAssertEqual(try Money(jsonNumberLiteral: "2.5e-06"), try Money(parsing: "0.0000025"))
        XCTAssertEqual(try Money(jsonNumberLiteral: "0.0000047"), try Money(parsing: "0.0000047"))
        XCTAssertEqual(try Money(jsonNumberLiteral: "1E2"), try Money(parsing: "100"))
        XCTAssertEqual(try Money(jsonNumberLiteral: "3.75e+0"), try Money(parsing: "3.75"))
        XCTAssertThrowsError(try Money(jsonNumberLiteral: "1e-11"))
        XCTAssertThrowsError(try Money(jsonNumberLiteral: "-1"))
        XCTAssertThrowsError(try Money(jsonNumberLiteral: "1e"))
        XCTAssertThrowsError(try Money(jsonNumberLiteral: "0x1"))
    }

    /// The LiteLLM importer relies on JSONDecoder reading `Decimal` from the literal's digits;
    /// 21 significant digits do not survive a trip through `Double`, so this would catch it.
    func testJSONDecoderReadsDecimalsExactly() throws {
        struct Box: Decodable { var value: Decimal }
        let box = try JSONDecoder().decode(Box.self, from: Data(#"{"value": 123456789.123456789123}"#.utf8))
        XCTAssertEqual(box.value, Decimal(sign: .plus, exponent: -12, significand: Decimal(digits: "123456789123456789123")))
        let small = try JSONDecoder().decode(Box.self, from: Data(#"{"value": 3.75e-06}"#.utf8))
        XCTAssertEqual(small.value, Decimal(sign: .plus, exponent: -8, significand: 375))
    }

    /// Nothing on the money path may use binary floating point, not even to parse.
    func testMoneyPathSourcesUseNoBinaryFloatingPoint() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/Domain")
        let folders = ["", "Pricing", "Cost"]
        var checked = 0
        for folder in folders {
            let directory = sources.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".swift") {
                if folder.isEmpty && !name.hasPrefix("Money") { continue }
                let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
                let code = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }.joined(separator: "\n")
                for word in ["Double", "Float", "CGFloat", "doubleValue", "floatValue"] {
                    XCTAssertFalse(code.contains(word), "\(folder)/\(name) mentions \(word)")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 10)
    }
}

/// SplitMix64: a small deterministic generator so property tests repeat exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

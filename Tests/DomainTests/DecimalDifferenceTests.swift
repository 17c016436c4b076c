import Foundation
import XCTest
@testable import Domain

/// `Money.-` subtracts on integers (`Decimal.fixedPointDifference`); what it returns must be the
/// `Decimal` Foundation's subtraction returns, representation included, because the writers print
/// the significand and exponent as they are (trailing zeros and all).
final class DecimalDifferenceTests: XCTestCase {
    func testIntegerDifferenceIsFoundationsDecimalBitForBit() throws {
        var generator = SeededGenerator(seed: 13)
        var compared = 0
        for index in 0..<20_000 {
            let lhs = Self.amount(using: &generator)
            let rhs = index % 7 == 0 ? lhs : Self.amount(using: &generator)
            let foundation = lhs - rhs
            guard let ours = lhs.fixedPointDifference(rhs) else { continue }
            compared += 1
            XCTAssertEqual(Self.bytes(ours), Self.bytes(foundation), "\(lhs) − \(rhs): \(ours) against Foundation's \(foundation)")
            XCTAssertEqual(ours.description, foundation.description)
        }
        // Most pairs fit 64 bits; the rest (21 digits) take Foundation's path and are not compared.
        XCTAssertGreaterThan(compared, 15_000)
    }

    func testZeroOperandsComeBackAsFoundationReturnsThem() throws {
        let zeros = try ["0", "0.0", "0.00", "0e3"].map { try XCTUnwrap(Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX"))) }
        let amounts = zeros + [Decimal(sign: .plus, exponent: -2, significand: 1250), Decimal(sign: .minus, exponent: 1, significand: 3)]
        for lhs in amounts {
            for rhs in amounts {
                let ours = try XCTUnwrap(lhs.fixedPointDifference(rhs))
                XCTAssertEqual(Self.bytes(ours), Self.bytes(lhs - rhs), "\(lhs) − \(rhs)")
            }
        }
    }

    func testOutOfRangeOperandsAreLeftToFoundation() {
        let wide = Decimal(UInt64.max) + 1
        XCTAssertNil(wide.fixedPointDifference(1))
        XCTAssertNil(Decimal(1).fixedPointDifference(wide))
        XCTAssertNil(Decimal.nan.fixedPointDifference(1))
        // Aligning 1e60 with 1e-10 needs 70 digits.
        XCTAssertNil(Decimal(sign: .plus, exponent: 60, significand: 1).fixedPointDifference(Decimal(sign: .plus, exponent: -10, significand: 1)))
    }

    func testMoneySubtractionPrintsAsBefore() throws {
        let limit = try Money(parsing: "250.50")
        let spent = try Money(parsing: "12.345678")
        let reserved = try Money(parsing: "238.154322")
        XCTAssertEqual((limit - spent).jsonString, "238.154322")
        XCTAssertEqual((limit - spent - reserved).jsonString, "0.00")
        XCTAssertEqual((try Money(parsing: "10") - Money(parsing: "2.5")).jsonString, "7.50")
        XCTAssertEqual((Money.zero - spent).jsonString, "-12.345678")
    }

    func testPartsAreTheDecimalsOwn() throws {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<2_000 {
            let value = Self.amount(using: &generator)
            guard let parts = DecimalParts(value) else {
                XCTAssertTrue(value.isZero || value.significand > Decimal(UInt64.max), "\(value) has parts")
                continue
            }
            XCTAssertEqual(parts.exponent, value.exponent)
            XCTAssertEqual(parts.negative, value.sign == .minus)
            XCTAssertEqual(Decimal(parts.significand), value.significand)
        }
        XCTAssertNil(DecimalParts(.zero))
        XCTAssertNil(DecimalParts(.nan))
    }

    /// Up to 21 digits with up to 12 decimals, either sign, now and then zero or an exponent form.
    private static func amount(using generator: inout SeededGenerator) -> Decimal {
        let shape = Int.random(in: 0..<12, using: &generator)
        var text: String
        switch shape {
        case 0: text = ["0", "0.0", "0.00", "0e3"][Int.random(in: 0..<4, using: &generator)]
        case 1: text = "\(Int.random(in: -1000...1000, using: &generator))e\(Int.random(in: -5...5, using: &generator))"
        default:
            let digits = Int.random(in: 1...21, using: &generator)
            text = String((0..<digits).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
            let scale = Int.random(in: 0...min(12, digits), using: &generator)
            if scale > 0 { text.insert(".", at: text.index(text.endIndex, offsetBy: -scale)) }
            if Bool.random(using: &generator) { text = "-" + text }
        }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) ?? .zero
    }

    private static func bytes(_ value: Decimal) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }
}

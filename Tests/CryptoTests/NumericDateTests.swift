@testable import Crypto
import Domain
import Foundation
import XCTest

/// `exp`, `iat` and `nbf` are written as whole seconds, as GoTrue issues them: Go's `jwt.NumericDate`
/// accepts fractions, but a client that decodes claims into integers (Swift `Int`, Go `int64`) does not.
final class NumericDateTests: XCTestCase {
    let signer = try! JWTSigner(secret: SecretBytes(utf8: JWTTests.secret))

    /// What a strict client declares: integer fields, which JSONDecoder refuses to fill from `1.5`.
    private struct StrictClaims: Decodable {
        let exp: Int64
        let iat: Int64
        let nbf: Int64
    }

    private func payload(of token: String) throws -> Data {
        let segments = token.split(separator: ".")
        XCTAssertEqual(segments.count, 3)
        return Data(try XCTUnwrap(Base64URL.decode(String(segments[1]))))
    }

    func testFractionalDatesAreSignedAsWholeSecondsRoundedDown() throws {
        let issued = Date(timeIntervalSince1970: 1_767_223_000.987)
        let claims = JWTClaims(subject: "u1", expiresAt: issued.addingTimeInterval(3600), notBefore: issued, issuedAt: issued)
        let token = try signer.sign(claims)
        let strict = try JSONDecoder().decode(StrictClaims.self, from: try payload(of: token))
        XCTAssertEqual(strict.iat, 1_767_223_000)
        XCTAssertEqual(strict.nbf, 1_767_223_000)
        XCTAssertEqual(strict.exp, 1_767_226_600, "exp - iat is the whole lifetime")
        let text = String(decoding: try payload(of: token), as: UTF8.self)
        XCTAssertFalse(text.contains("."), "no fraction anywhere in \(text)")
    }

    func testAStrictDecoderRefusesAFraction() throws {
        // The failure the rounding prevents, shown on the same decoder.
        let fractional = Data(#"{"exp":1767226600.987,"iat":1767223000.987,"nbf":1767223000.987}"#.utf8)
        XCTAssertThrowsError(try JSONDecoder().decode(StrictClaims.self, from: fractional))
    }

    func testNumericDateHelperRoundsDownBeforeTheEpochToo() {
        XCTAssertEqual(JWTClaims.numericDate(Date(timeIntervalSince1970: 12.9)), .number("12"))
        XCTAssertEqual(JWTClaims.numericDate(Date(timeIntervalSince1970: -0.5)), .number("-1"))
    }

    func testNumericDatesAreWhatFormattingWithPercentZeroFWrites() {
        let seconds: [Double] = [0, -0.0, 1, -1, 12.9, -0.5, 1_767_225_600.75, 4_102_444_800, -62_135_596_800, 253_402_300_799,
                                 9.2e18, -9.2e18, 1e300, -1e300]
        XCTAssertEqual(seconds.map { JWTClaims.numericDate(Date(timeIntervalSince1970: $0)) },
                       seconds.map { .number(String(format: "%.0f", Date(timeIntervalSince1970: $0).timeIntervalSince1970.rounded(.down))) })
    }
}

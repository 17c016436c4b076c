import Domain
import Foundation
import XCTest

final class AuthRulesTests: XCTestCase {
    func testMetadataWithANULAnywhereIsRefusedAndOtherControlCharactersAreKept() throws {
        let rules = AuthRules()
        for metadata: WireJSONObject in [["name": .string("a\u{0}b")], ["k\u{0}": .int(1)],
                                          ["deep": .array([.object(["x": .array([.string("ok"), .string("\u{0}")])])])]] {
            XCTAssertThrowsError(try rules.checkMetadata(metadata), "\(metadata)") { error in
                XCTAssertEqual((error as? AuthError)?.code, "validation_failed")
                XCTAssertEqual((error as? AuthError)?.status, 422)
            }
        }
        let fine: WireJSONObject = ["list": .array([.bool(true), .number("1.5")]), "n": .null, "tab": .string("a\tb\u{1}")]
        XCTAssertEqual(try rules.checkMetadata(fine), fine)
    }

    /// jsonb writes `1e-300` out in full (302 characters); read back, metadata is in the form the
    /// rule measured again, so a token never carries more than was allowed.
    func testStoredMetadataReadsBackInTheFormThatWasMeasured() throws {
        let sent: WireJSONObject = ["b": .number("1.50"), "a": .array([.number("1e-300"), .number("-0"), .number("12")])]
        let checked = try AuthRules().checkMetadata(sent)
        XCTAssertEqual(WireJSON.object(checked).jsonText, #"{"a":[1e-300,0,12],"b":1.5}"#)
        let tiny = "0." + String(repeating: "0", count: 299) + "1"
        XCTAssertEqual(AuthMetadata.parse(stored: #"{"a": ["# + tiny + #", 0, 12], "b": 1.50}"#), checked)
        XCTAssertEqual(AuthMetadata.parse(stored: "[1]"), WireJSONObject(), "anything but an object reads as {}")
    }

    func testIntegersBeyondTwoToThe53AreRefused() {
        XCTAssertThrowsError(try AuthRules().checkMetadata(["n": .array([.number("-9007199254740993")])]))
        XCTAssertNoThrow(try AuthRules().checkMetadata(["n": .number("9007199254740992")]))
    }

    func testSessionStateFollowsGoTruesOrder() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let later = now.addingTimeInterval(60)
        let earlier = now.addingTimeInterval(-60)
        XCTAssertNil(SessionState(notAfter: nil, bannedUntil: nil, userDeleted: false).refusal(at: now))
        XCTAssertNil(SessionState(notAfter: later, bannedUntil: earlier, userDeleted: false).refusal(at: now), "a ban that ended, a session not yet over")
        XCTAssertEqual(SessionState(notAfter: earlier, bannedUntil: nil, userDeleted: false).refusal(at: now), .sessionExpired)
        XCTAssertEqual(SessionState(notAfter: earlier, bannedUntil: later, userDeleted: false).refusal(at: now), .userBanned)
        XCTAssertEqual(SessionState(notAfter: earlier, bannedUntil: later, userDeleted: true).refusal(at: now), .userGone)
    }

    func testBansAndExpiryAnswerGrantsWith400AndBearerTokensWith403() {
        XCTAssertEqual(AuthError.userBanned(.passwordGrant).status, 400)
        XCTAssertEqual(AuthError.userBanned(.refreshGrant).status, 400)
        XCTAssertEqual(AuthError.userBanned(.bearer).status, 403)
        XCTAssertEqual(AuthError.sessionExpired(.refreshGrant).status, 400)
        XCTAssertEqual(AuthError.sessionExpired(.bearer).status, 403)
        XCTAssertEqual(AuthError.userBanned(.refreshGrant).message, "Invalid Refresh Token: User Banned")
        XCTAssertEqual(AuthError.sessionExpired(.refreshGrant).code, "session_expired")
    }
}

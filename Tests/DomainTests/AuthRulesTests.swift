import Domain
import Foundation
import XCTest

final class AuthRulesTests: XCTestCase {
    func testMetadataWithANULAnywhereIsRefusedAndOtherControlCharactersAreKept() throws {
        let rules = AuthRules()
        for metadata: [String: JSON] in [["name": .string("a\u{0}b")], ["k\u{0}": .integer(1)],
                                          ["deep": .array([.object(["x": .array([.string("ok"), .string("\u{0}")])])])]] {
            XCTAssertThrowsError(try rules.checkMetadata(metadata), "\(metadata)") { error in
                XCTAssertEqual((error as? AuthError)?.code, "validation_failed")
                XCTAssertEqual((error as? AuthError)?.status, 422)
            }
        }
        let fine: [String: JSON] = ["tab": .string("a\tb\u{1}"), "n": .null, "list": .array([.bool(true), .number(1.5)])]
        XCTAssertEqual(try rules.checkMetadata(fine), fine)
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

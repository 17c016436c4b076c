@testable import APIServer
import Domain
import Foundation
import XCTest

/// The cache of verified access tokens may save work, never extend what a token is worth.
final class VerifiedTokensTests: XCTestCase {
    private let identity = AuthenticatedIdentity(userID: UUID(), sessionID: nil, role: "authenticated", claimsJSON: "{}")
    private let start = Date(timeIntervalSince1970: 1_800_000_000)

    func testARememberedTokenIsKnownOnlyByItsExactTextWithinItsValidity() {
        let cache = VerifiedTokens(leeway: 30)
        cache.remember("a.b.c", identity: identity, expiresAt: start.addingTimeInterval(3600), notBefore: nil)
        XCTAssertEqual(cache.identity(of: "a.b.c", now: start)?.userID, identity.userID)
        XCTAssertNil(cache.identity(of: "a.b.C", now: start), "another text is another token")
        XCTAssertNotNil(cache.identity(of: "a.b.c", now: start.addingTimeInterval(3629)), "the verifier's leeway, no more")
        XCTAssertNil(cache.identity(of: "a.b.c", now: start.addingTimeInterval(3630)), "expired exactly when verification would say so")
    }

    func testNotBeforeIsCheckedOnEveryHit() {
        let cache = VerifiedTokens(leeway: 30)
        cache.remember("n.b.f", identity: identity, expiresAt: start.addingTimeInterval(3600), notBefore: start.addingTimeInterval(100))
        XCTAssertNil(cache.identity(of: "n.b.f", now: start.addingTimeInterval(69)))
        XCTAssertNotNil(cache.identity(of: "n.b.f", now: start.addingTimeInterval(70)))
    }

    func testTokensWithoutExpiryAreNotKeptAndAFullCacheStartsOver() {
        let cache = VerifiedTokens(capacity: 2, leeway: 0)
        cache.remember("no.exp.x", identity: identity, expiresAt: nil, notBefore: nil)
        XCTAssertNil(cache.identity(of: "no.exp.x", now: start))
        let later = start.addingTimeInterval(60)
        cache.remember("one", identity: identity, expiresAt: later, notBefore: nil)
        cache.remember("two", identity: identity, expiresAt: later, notBefore: nil)
        cache.remember("three", identity: identity, expiresAt: later, notBefore: nil)
        XCTAssertNil(cache.identity(of: "one", now: start), "dropped when the cache filled")
        XCTAssertNotNil(cache.identity(of: "three", now: start))
    }
}

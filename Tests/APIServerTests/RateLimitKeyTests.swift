@testable import APIServer
import XCTest

/// The sign-in and sign-up limiters count an IPv6 client by its /64: one subscriber's block is
/// one bucket, not 2⁶⁴ of them.
final class RateLimitKeyTests: XCTestCase {
    func testAddressesInOneSlash64ShareABucketAndTheNextBlockDoesNot() {
        let key = RateLimitKey.of("2001:db8:aa:bb::1")
        XCTAssertEqual(key, "2001:0db8:00aa:00bb::/64")
        XCTAssertEqual(RateLimitKey.of("2001:db8:aa:bb:ffff:ffff:ffff:fffe"), key)
        XCTAssertEqual(RateLimitKey.of("[2001:DB8:AA:BB:0:0:0:2]"), key, "bracketed and upper case alike")
        XCTAssertNotEqual(RateLimitKey.of("2001:db8:aa:bc::1"), key)
    }

    func testIPv4AndMappedIPv4AreCountedByTheAddress() {
        XCTAssertEqual(RateLimitKey.of("203.0.113.7"), "203.0.113.7")
        XCTAssertEqual(RateLimitKey.of("::ffff:203.0.113.7"), "203.0.113.7")
        XCTAssertNotEqual(RateLimitKey.of("::ffff:203.0.113.8"), RateLimitKey.of("::ffff:203.0.113.7"))
    }

    func testWhatIsNotAnAddressIsCountedAsWritten() {
        XCTAssertEqual(RateLimitKey.of("unknown"), "unknown")
        XCTAssertEqual(RateLimitKey.of("not:an:address:::x"), "not:an:address:::x")
    }

    func testTheLimiterRefusesASecondAddressOfTheSameBlockOnceTheFirstUsedTheBurst() {
        let limiter = RateLimiter(.perWindow(1, seconds: 60, burst: 2))
        XCTAssertNil(limiter.take(RateLimitKey.of("2001:db8::1"), now: 1000))
        XCTAssertNil(limiter.take(RateLimitKey.of("2001:db8::2"), now: 1000))
        XCTAssertNotNil(limiter.take(RateLimitKey.of("2001:db8::3"), now: 1000), "the third hash from the same /64 waits")
        XCTAssertNil(limiter.take(RateLimitKey.of("2001:db9::1"), now: 1000), "another block has its own bucket")
    }
}

import Domain
import Foundation
import XCTest

/// Reading providers' rate-limit headers, and the token bucket they tighten.
final class RateLimitTests: XCTestCase {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)

    func testGoDurations() throws {
        XCTAssertEqual(try XCTUnwrap(RateLimitHeaders.goDuration("6m0s")), 360, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(RateLimitHeaders.goDuration("1h2m3.5s")), 3723.5, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(RateLimitHeaders.goDuration("12ms")), 0.012, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(RateLimitHeaders.goDuration("250us")), 0.00025, accuracy: 1e-12)
        XCTAssertEqual(RateLimitHeaders.goDuration("0s"), 0)
        for bad in ["", "s", "5", "5x", "1.2.3s", "-1s", String(repeating: "1s", count: 40)] {
            XCTAssertNil(RateLimitHeaders.goDuration(bad), bad)
        }
    }

    func testOpenAIHeaders() {
        let seen = RateLimitHeaders.observation(["x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1m30s",
                                                 "x-ratelimit-remaining-tokens": "100"], at: now)
        XCTAssertEqual(seen, RateLimitObservation(remainingRequests: 0, resetAt: now.addingTimeInterval(90)))
        XCTAssertEqual(seen.blockedUntil, now.addingTimeInterval(90), "nothing remains until the reset")
    }

    func testAnthropicHeaders() {
        let seen = RateLimitHeaders.observation(["anthropic-ratelimit-requests-remaining": "42",
                                                 "anthropic-ratelimit-requests-reset": "2027-01-15T08:00:30Z"], at: now)
        XCTAssertEqual(seen.remainingRequests, 42)
        XCTAssertEqual(seen.resetAt, now.addingTimeInterval(30), "now is 2027-01-15T08:00:00Z")
        XCTAssertNil(seen.blockedUntil, "requests remain")
        let soon = RateLimitHeaders.observation(["anthropic-ratelimit-requests-reset": "2027-01-15T08:00:30.250Z"],
                                                at: ISO8601DateFormatter().date(from: "2027-01-15T08:00:00Z") ?? now)
        XCTAssertEqual(try XCTUnwrap(soon.resetAt).timeIntervalSince(try XCTUnwrap(ISO8601DateFormatter().date(from: "2027-01-15T08:00:00Z"))),
                       30.25, accuracy: 1e-3)
    }

    func testOpenRouterHeaders() {
        let resetMillis = (now.timeIntervalSince1970 + 12) * 1000
        let seen = RateLimitHeaders.observation(["x-ratelimit-remaining": "0", "x-ratelimit-reset": String(format: "%.0f", resetMillis)], at: now)
        XCTAssertEqual(seen.remainingRequests, 0)
        XCTAssertEqual(seen.blockedUntil, now.addingTimeInterval(12))
    }

    func testRetryAfterInEveryForm() {
        XCTAssertEqual(RateLimitHeaders.observation(["retry-after": "7"], at: now).retryAt, now.addingTimeInterval(7))
        XCTAssertEqual(RateLimitHeaders.observation(["retry-after-ms": "1500", "retry-after": "9"], at: now).retryAt,
                       now.addingTimeInterval(1.5), "the millisecond form wins")
        let date = RateLimitHeaders.retryAfter("Fri, 15 Jan 2027 08:00:30 GMT", at: ISO8601DateFormatter().date(from: "2027-01-15T08:00:00Z") ?? now)
        XCTAssertEqual(date, ISO8601DateFormatter().date(from: "2027-01-15T08:00:30Z"))
        XCTAssertEqual(RateLimitHeaders.observation(["retry-after": "99999999"], at: now).retryAt, now.addingTimeInterval(86_400), "capped at a day")
        XCTAssertEqual(RateLimitHeaders.observation(["retry-after": "-3"], at: now).retryAt, now, "never in the past")
        XCTAssertNil(RateLimitHeaders.observation(["retry-after": "soon"], at: now).retryAt)
        XCTAssertTrue(RateLimitHeaders.observation(["retry-after": "nan", "x-ratelimit-remaining-requests": "-1"], at: now).isEmpty)
        XCTAssertEqual(RateLimitObservation(remainingRequests: 0, resetAt: now, retryAt: now.addingTimeInterval(3)).blockedUntil,
                       now.addingTimeInterval(3), "an explicit retry time wins over the reset")
    }

    func testAFreshBucketAdmitsOneMinutesWorthThenRefillsAtRpmOverSixty() throws {
        var bucket = TokenBucket.fresh(requestsPerMinute: 3, at: now)
        for _ in 0..<3 {
            guard case .granted(let next) = bucket.acquiring(at: now, requestsPerMinute: 3) else { return XCTFail("within the minute's worth") }
            bucket = next
        }
        XCTAssertEqual(bucket.acquiring(at: now, requestsPerMinute: 3), .refused(retryAt: now.addingTimeInterval(20)))
        guard case .granted = bucket.acquiring(at: now.addingTimeInterval(20), requestsPerMinute: 3) else { return XCTFail("refilled") }
        XCTAssertEqual(bucket.tokens(at: now.addingTimeInterval(3600), requestsPerMinute: 3), 3, "capped at capacity")
        XCTAssertEqual(bucket.tokens(at: now.addingTimeInterval(-60), requestsPerMinute: 3), 0, "no refill for time going backwards")
    }

    func testWithoutAConfiguredRateOnlyTheProvidersBlockApplies() {
        let bucket = TokenBucket.fresh(requestsPerMinute: nil, at: now)
        XCTAssertEqual(bucket.acquiring(at: now, requestsPerMinute: nil), .granted(bucket))
        let blocked = bucket.observing(RateLimitObservation(retryAt: now.addingTimeInterval(5)), at: now, requestsPerMinute: nil)
        XCTAssertEqual(blocked.acquiring(at: now.addingTimeInterval(4), requestsPerMinute: nil), .refused(retryAt: now.addingTimeInterval(5)))
        guard case .granted = blocked.acquiring(at: now.addingTimeInterval(5), requestsPerMinute: nil) else { return XCTFail("block over") }
    }

    func testObservationsOnlyTighten() {
        let bucket = TokenBucket.fresh(requestsPerMinute: 60, at: now)
        XCTAssertEqual(bucket.observing(RateLimitObservation(remainingRequests: 5), at: now, requestsPerMinute: 60).tokens, 5)
        XCTAssertEqual(bucket.observing(RateLimitObservation(remainingRequests: 500), at: now, requestsPerMinute: 60).tokens, 60,
                       "never more than our own limit")
        let long = bucket.observing(RateLimitObservation(retryAt: now.addingTimeInterval(60)), at: now, requestsPerMinute: 60)
        let shorter = long.observing(RateLimitObservation(retryAt: now.addingTimeInterval(10)), at: now, requestsPerMinute: 60)
        XCTAssertEqual(shorter.blockedUntil, now.addingTimeInterval(60), "a later answer never shortens a block")
        XCTAssertEqual(shorter.availableAt(now, requestsPerMinute: 60), now.addingTimeInterval(60))
    }
}

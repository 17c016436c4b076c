import Domain
import Foundation
@testable import Providers
import XCTest

final class RetryPolicyTests: XCTestCase {
    func testExponentialBackoffWithJitterAndCap() {
        let policy = RetryPolicy()
        XCTAssertEqual(policy.delay(afterAttempt: 1, retryAfter: nil, random: 0), 0.5)
        XCTAssertEqual(policy.delay(afterAttempt: 2, retryAfter: nil, random: 0), 1)
        XCTAssertEqual(policy.delay(afterAttempt: 3, retryAfter: nil, random: 0), 2)
        XCTAssertEqual(policy.delay(afterAttempt: 10, retryAfter: nil, random: 0), 8, "capped at maxDelay")
        XCTAssertEqual(policy.delay(afterAttempt: 10, retryAfter: nil, random: 1), 6, "at most 25 % jitter")
    }

    func testServerWaitIsHonouredUpToTheCap() {
        let policy = RetryPolicy(maxRetryAfter: 60)
        XCTAssertEqual(policy.delay(afterAttempt: 1, retryAfter: 37, random: 0.9), 37)
        XCTAssertNil(policy.delay(afterAttempt: 1, retryAfter: 61, random: 0))
        XCTAssertEqual(policy.delay(afterAttempt: 1, retryAfter: 0, random: 0), 0.5, "zero means no advice")
    }

    func testRetryAfterHeaderForms() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        XCTAssertEqual(RetryAfter.seconds(from: HTTPHeaders([("Retry-After", "3")]), now: now), 3)
        XCTAssertEqual(RetryAfter.seconds(from: HTTPHeaders([("retry-after-ms", "1500"), ("retry-after", "9")]), now: now), 1.5)
        let date = "Tue, 14 Nov 2023 22:13:40 GMT"  // now + 20 s
        XCTAssertEqual(RetryAfter.seconds(from: HTTPHeaders([("Retry-After", date)]), now: now), 20)
        XCTAssertEqual(RetryAfter.seconds(from: HTTPHeaders([("Retry-After", "Mon, 13 Nov 2023 00:00:00 GMT")]), now: now), 0)
        XCTAssertNil(RetryAfter.seconds(from: HTTPHeaders([("Retry-After", "soon")]), now: now))
        XCTAssertNil(RetryAfter.seconds(from: HTTPHeaders(), now: now))
    }

    func testShouldRetryHeaderOverrules() {
        let base = ProviderError(.badRequest, provider: .openai, message: "x")
        XCTAssertTrue(ProviderHTTP.applyShouldRetry(base, headers: HTTPHeaders([("x-should-retry", "true")])).isRetryable)
        let down = ProviderError(.providerDown, provider: .openai, message: "x")
        XCTAssertFalse(ProviderHTTP.applyShouldRetry(down, headers: HTTPHeaders([("X-Should-Retry", "false")])).isRetryable)
        XCTAssertTrue(ProviderHTTP.applyShouldRetry(down, headers: HTTPHeaders()).isRetryable)
    }

    func testLoggedURLsLoseTheirQuery() {
        XCTAssertEqual(ProviderHTTP.loggableURL("https://cdn.example/v.mp4?_jwt=abc&key=x"), "https://cdn.example/v.mp4")
        XCTAssertEqual(ProviderHTTP.loggableURL("https://user:pw@host/p"), "https://host/p")
    }
}

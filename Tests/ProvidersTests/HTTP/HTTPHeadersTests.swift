import Providers
import XCTest

/// Header names are found ignoring case, ASCII ones byte by byte and any other text as Foundation
/// compares it; prefixed fields come back under lowercased names.
final class HTTPHeadersTests: XCTestCase {
    private let headers = HTTPHeaders([
        ("Content-Type", "application/json"),
        ("X-RateLimit-Remaining-Requests", "99"),
        ("x-ratelimit-reset-tokens", "6m0s"),
        ("Retry-After", "2"),
        ("retry-after", "3"),
        ("Anthropic-RateLimit-Requests-Remaining", "49"),
        ("RateLimit-Policy", "100;w=60"),
        ("X-Ünïcode-Name", "kept"),
        ("X-RateLimit", "too short for the prefix"),
    ])

    func testNamesAreFoundWhateverTheirCase() {
        XCTAssertEqual(headers["content-type"], "application/json")
        XCTAssertEqual(headers["CONTENT-TYPE"], "application/json")
        XCTAssertEqual(headers["Retry-After"], "2", "the first of two fields")
        XCTAssertEqual(headers.values("RETRY-after"), ["2", "3"])
        XCTAssertNil(headers["Content-Typ"])
        XCTAssertNil(headers["Content-Types"])
        XCTAssertNil(headers["retry_after"], "only letters fold: '-' and '_' differ")
        XCTAssertEqual(headers["x-ünïcode-name"], "kept", "a name outside ASCII is compared as Foundation compares it")
        XCTAssertEqual(headers["X-ÜNÏCODE-NAME"], "kept")
    }

    func testPrefixedFieldsComeBackLowercased() {
        XCTAssertEqual(headers.withPrefix("x-ratelimit-"), ["x-ratelimit-remaining-requests": "99", "x-ratelimit-reset-tokens": "6m0s"])
        XCTAssertEqual(headers.withPrefix("X-RATELIMIT-"), headers.withPrefix("x-ratelimit-"))
        XCTAssertEqual(headers.withPrefix("x-ü"), ["x-ünïcode-name": "kept"])
        XCTAssertEqual(headers.rateLimits, [
            "x-ratelimit-remaining-requests": "99", "x-ratelimit-reset-tokens": "6m0s",
            "anthropic-ratelimit-requests-remaining": "49", "ratelimit-policy": "100;w=60",
        ])
        XCTAssertEqual(HTTPHeaders().withPrefix("x-"), [:])
    }
}

@testable import APIServer
import Foundation
import XCTest

/// Sign-in and sign-up limits per environment: production and tests keep GoTrue's numbers,
/// development is generous, and either can be set.
final class RateLimitConfigTests: XCTestCase {
    private func config(_ env: [String: String]) throws -> AppConfig {
        try AppConfig.load(from: env.merging(["DATABASE_URL": "postgresql://db/x"]) { mine, _ in mine }, requireSecrets: false).get()
    }

    func testProductionKeepsGoTruesLimitsAndDevelopmentIsGenerous() throws {
        let production = try config(["APP_ENV": "production"])
        XCTAssertEqual(production.authTokenRequestsPer5Minutes, 150)
        XCTAssertEqual(production.authSignupRequestsPer5Minutes, 30)
        let test = try config(["APP_ENV": "test"])
        XCTAssertEqual(test.authSignupRequestsPer5Minutes, 30)
        let development = try config(["APP_ENV": "development"])
        XCTAssertEqual(development.authTokenRequestsPer5Minutes, 10_000)
        XCTAssertEqual(development.authSignupRequestsPer5Minutes, 10_000)
        let set = try config(["APP_ENV": "production", "AUTH_TOKEN_RATE_LIMIT": "600", "AUTH_SIGNUP_RATE_LIMIT": "60"])
        XCTAssertEqual(set.authTokenRequestsPer5Minutes, 600)
        XCTAssertEqual(set.authSignupRequestsPer5Minutes, 60)
        XCTAssertThrowsError(try config(["AUTH_SIGNUP_RATE_LIMIT": "0"]).authSignupRequestsPer5Minutes)
    }

    func testTheRuleKeepsGoTruesBurstAndGrowsItWithTheLimit() {
        XCTAssertEqual(RateLimiter.Rule.perFiveMinutes(150).burst, 30)
        XCTAssertEqual(RateLimiter.Rule.perFiveMinutes(30).burst, 30)
        XCTAssertEqual(RateLimiter.Rule.perFiveMinutes(10_000).burst, 2_000)
        XCTAssertEqual(RateLimiter.Rule.perFiveMinutes(150).refillPerSecond, 0.5)
    }

    /// Through the server: a sign-up limit of 2 refuses the third sign-up from one address with 429 and Retry-After.
    func testTheConfiguredSignUpLimitIsTheOneEnforced() throws {
        let server = try TestServer(environment: ["AUTH_SIGNUP_RATE_LIMIT": "2"])
        defer { server.stop() }
        var statuses: [Int] = []
        var retryAfter: String?
        for index in 0..<3 {
            let response = try server.post("/auth/v1/signup", ["email": "limit\(index)@example.com", "password": "correct horse battery"])
            statuses.append(response.status)
            retryAfter = response.header("retry-after") ?? retryAfter
        }
        XCTAssertEqual(statuses, [200, 200, 429])
        XCTAssertNotNil(retryAfter)
    }
}

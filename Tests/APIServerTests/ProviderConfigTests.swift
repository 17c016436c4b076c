@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// `/v1/provider-configs` and the caller's health view in `GET /v1/providers`.
final class ProviderConfigTests: XCTestCase {
    func testEveryProviderHasDefaultsUntilConfigured() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.signUp("configs-defaults@example.com")
        assertAuthProblem(try server.get("/v1/provider-configs", token: nil), 401, "no_authorization")
        let list = try server.send("GET", "/v1/provider-configs", token: session.accessToken)
        XCTAssertEqual(list.status, 200, list.text)
        let data = try XCTUnwrap(try list.json()["data"] as? [[String: Any]])
        XCTAssertEqual(data.compactMap { $0["provider"] as? String },
                       ["openai", "anthropic", "openrouter", "elevenlabs", "runway", "veo", "fal", "local"])
        XCTAssertTrue(data.allSatisfy { $0["enabled"] as? Bool == true && $0["priority"] as? Int == 100 && $0["version"] as? Int == 0 })
        XCTAssertTrue(data.allSatisfy { $0["monthly_budget"] is NSNull && $0["requests_per_minute"] is NSNull && $0["updated_at"] is NSNull })

        let one = try server.send("GET", "/v1/provider-configs/anthropic", token: session.accessToken)
        XCTAssertEqual(one.status, 200, one.text)
        XCTAssertEqual(one.header("etag"), "\"v0\"")
        XCTAssertEqual(try server.send("GET", "/v1/provider-configs/nope", token: session.accessToken).status, 404)
    }

    func testPutStoresValidatesAndHonoursIfMatch() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.signUp("configs-put@example.com")
        let token = session.accessToken
        let model = try XCTUnwrap(server.environment.providers.catalog().first { $0.provider == .openai }?.models(for: .text).first?.id)
        let body: [String: Any] = ["enabled": false, "priority": 5, "requests_per_minute": 30, "monthly_budget": "20.00",
                                   "default_models": ["text": model]]
        let stored = try server.send("PUT", "/v1/provider-configs/openai", body, token: token, headers: ["If-Match": "\"v0\""])
        XCTAssertEqual(stored.status, 200, stored.text)
        XCTAssertEqual(stored.header("etag"), "\"v1\"")
        let json = try stored.json()
        XCTAssertEqual(json["enabled"] as? Bool, false)
        XCTAssertEqual(json["priority"] as? Int, 5)
        XCTAssertEqual(json["requests_per_minute"] as? Int, 30)
        XCTAssertEqual(json["monthly_budget"] as? String, "20.00")
        XCTAssertEqual(json["default_models"] as? [String: String], ["text": model])
        XCTAssertEqual(try server.send("GET", "/v1/provider-configs/openai", token: token).json()["priority"] as? Int, 5)

        let stale = try server.send("PUT", "/v1/provider-configs/openai", [:], token: token, headers: ["If-Match": "\"v0\""])
        XCTAssertEqual(stale.status, 412, stale.text)
        XCTAssertEqual(try server.send("PUT", "/v1/provider-configs/openai", [:], token: token, headers: ["If-Match": "v1"]).status, 400)
        let reset = try server.send("PUT", "/v1/provider-configs/openai", [:], token: token, headers: ["If-Match": "\"v1\""])
        XCTAssertEqual(reset.status, 200, reset.text)
        XCTAssertEqual(try reset.json()["priority"] as? Int, 100, "a PUT replaces the whole configuration")
        XCTAssertEqual(reset.header("etag"), "\"v2\"")

        let unknownField = try server.send("PUT", "/v1/provider-configs/openai", ["colour": "red"], token: token)
        XCTAssertEqual(unknownField.status, 422, unknownField.text)
        XCTAssertEqual(try unknownField.json()["code"] as? String, "unknown_field")
        let badModel = try server.send("PUT", "/v1/provider-configs/openai", ["default_models": ["text": "no-such-model"]], token: token)
        XCTAssertEqual(badModel.status, 422, badModel.text)
        let errors = try XCTUnwrap(try badModel.json()["errors"] as? [[String: Any]])
        XCTAssertEqual(errors.compactMap { $0["code"] as? String }, ["unknown_model"])
        XCTAssertEqual(try server.send("PUT", "/v1/provider-configs/nope", [:], token: token).status, 404)

        // Another user sees only their own defaults.
        let other = try server.signUp("configs-other@example.com")
        XCTAssertEqual(try server.send("GET", "/v1/provider-configs/openai", token: other.accessToken).header("etag"), "\"v0\"")
    }

    func testProvidersShowTheCallersHealthAsAttemptsRecordedIt() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.signUp("health-view@example.com")
        let before = try XCTUnwrap(try server.get("/v1/providers", token: session.accessToken).json()["data"] as? [[String: Any]])
        XCTAssertTrue(before.allSatisfy { ($0["health"] as? [String: Any])?["status"] as? String == "healthy" })

        let claims = #"{"sub":"\#(session.userID)","role":"authenticated","aud":"authenticated"}"#
        let now = Date()
        for _ in 0..<HealthPolicy.standard.failureThreshold {
            try server.environment.router.record(.failure(code: "provider_down", retryable: true), provider: .anthropic, claimsJSON: claims, at: now)
        }
        try server.environment.router.record(.success(latency: 0.25), provider: .openai, claimsJSON: claims, at: now)
        let after = try XCTUnwrap(try server.get("/v1/providers", token: session.accessToken).json()["data"] as? [[String: Any]])
        let anthropic = try XCTUnwrap(after.first { $0["id"] as? String == "anthropic" }?["health"] as? [String: Any])
        XCTAssertEqual(anthropic["status"] as? String, "down")
        XCTAssertEqual(anthropic["circuit"] as? String, "open")
        XCTAssertEqual(anthropic["consecutive_failures"] as? Int, HealthPolicy.standard.failureThreshold)
        XCTAssertEqual(anthropic["last_error_code"] as? String, "provider_down")
        XCTAssertNotNil(anthropic["reopen_at"] as? String)
        let openai = try XCTUnwrap(after.first { $0["id"] as? String == "openai" }?["health"] as? [String: Any])
        XCTAssertEqual(openai["status"] as? String, "healthy")
        XCTAssertEqual(openai["latency_ms"] as? Double, 250)

        let stranger = try server.signUp("health-stranger@example.com")
        let theirs = try XCTUnwrap(try server.get("/v1/providers", token: stranger.accessToken).json()["data"] as? [[String: Any]])
        XCTAssertTrue(theirs.allSatisfy { ($0["health"] as? [String: Any])?["status"] as? String == "healthy" }, "health is per user")
    }

    func testAConfigurationShowsThisMonthsSpendOnItsProvider() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.signUp("configs-usage@example.com")
        let token = session.accessToken
        XCTAssertEqual(try server.send("PUT", "/v1/provider-configs/fal", ["monthly_budget": "5.00"], token: token).status, 200)
        let fresh = try XCTUnwrap(try server.send("GET", "/v1/provider-configs/fal", token: token).json()["usage"] as? [String: Any])
        XCTAssertEqual(fresh["spent"] as? String, "0.00")
        XCTAssertEqual(fresh["remaining"] as? String, "5.00")

        let project = try XCTUnwrap(UUID(uuidString: try XCTUnwrap(try server.createProject(["name": "p"], token: token)["id"] as? String)))
        let claims = #"{"sub":"\#(session.userID)","role":"authenticated","aud":"authenticated"}"#
        let ledger = PostgresBudgetLedger(pool: server.environment.pool)
        let generation = UUID()
        XCTAssertTrue(try ledger.reserve(project: project, generation: generation, amount: try Money(parsing: "2"), provider: .fal,
                                         claimsJSON: claims).admitted)
        _ = try ledger.settle(generation: generation, cost: try Money(parsing: "1.25"), provider: nil, claimsJSON: claims)
        XCTAssertTrue(try ledger.reserve(project: project, generation: UUID(), amount: try Money(parsing: "0.5"), provider: .fal,
                                         claimsJSON: claims).admitted)

        let listed = try XCTUnwrap(try server.send("GET", "/v1/provider-configs", token: token).json()["data"] as? [[String: Any]])
        let usage = try XCTUnwrap(listed.first { $0["provider"] as? String == "fal" }?["usage"] as? [String: Any])
        XCTAssertEqual(usage["spent"] as? String, "1.25")
        XCTAssertEqual(usage["reserved"] as? String, "0.50")
        XCTAssertEqual(usage["remaining"] as? String, "3.25")
        let openai = try XCTUnwrap(listed.first { $0["provider"] as? String == "openai" }?["usage"] as? [String: Any])
        XCTAssertTrue(openai["remaining"] is NSNull, "no monthly budget, no remaining")
    }
}

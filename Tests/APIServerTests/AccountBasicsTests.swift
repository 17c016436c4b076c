@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// Account basics that need no email server: renaming a stored key, deleting the account.
final class AccountBasicsTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server?.stop()
    }

    private func patch(_ path: String, _ body: String, token: String) throws -> HTTPTestConnection.Response {
        try server.connect().request("PATCH", path, headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"],
                                     body: Data(body.utf8))
    }

    private func delete(_ path: String, token: String) throws -> HTTPTestConnection.Response {
        try server.connect().request("DELETE", path, headers: ["Authorization": "Bearer \(token)"])
    }

    private func storeKey(token: String) throws -> String {
        let created = try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)],
                                      token: token)
        XCTAssertEqual(created.status, 201, created.text)
        return try XCTUnwrap(try created.json()["id"] as? String)
    }

    // MARK: - PATCH /v1/api-keys/{id}

    func testTheOwnerRenamesAKeyAndNothingElseChanges() throws {
        let alice = try server.signUp("alice@example.com")
        let id = try storeKey(token: alice.accessToken)
        let renamed = try patch("/v1/api-keys/\(id)", #"{"label":"  work laptop  "}"#, token: alice.accessToken)
        XCTAssertEqual(renamed.status, 200, renamed.text)
        let body = try renamed.json()
        XCTAssertEqual(body["label"] as? String, "work laptop", "trimmed")
        XCTAssertEqual(body["provider"] as? String, "openai")
        XCTAssertEqual(body["status"] as? String, "unchecked")
        let listed = try XCTUnwrap(try server.get("/v1/api-keys", token: alice.accessToken).json()["data"] as? [[String: Any]])
        XCTAssertEqual(listed.map { $0["label"] as? String }, ["work laptop"])
    }

    func testRenamingIsStrictAndOwnersOnly() throws {
        let alice = try server.signUp("alice@example.com")
        let bob = try server.signUp("bob@example.com")
        let id = try storeKey(token: alice.accessToken)
        let unknown = try patch("/v1/api-keys/\(id)", #"{"label":"x","provider":"anthropic"}"#, token: alice.accessToken)
        XCTAssertEqual(unknown.status, 422, unknown.text)
        XCTAssertEqual(try unknown.json()["code"] as? String, "unknown_field")
        for body in [#"{"label":"   "}"#, #"{}"#, #"{"label":7}"#, "{\"label\":\"\(String(repeating: "é", count: 101))\"}"] {
            let refused = try patch("/v1/api-keys/\(id)", body, token: alice.accessToken)
            XCTAssertEqual(refused.status, 422, "\(body): \(refused.text)")
        }
        XCTAssertEqual(try patch("/v1/api-keys/\(id)", #"{"label":"mine now"}"#, token: bob.accessToken).status, 404, "another user's key")
        XCTAssertEqual(try patch("/v1/api-keys/not-a-uuid", #"{"label":"x"}"#, token: alice.accessToken).status, 404)
        XCTAssertEqual(try patch("/v1/api-keys/\(id)", #"{"label":"x"}"#, token: "nope").status, 401)
        let listed = try XCTUnwrap(try server.get("/v1/api-keys", token: alice.accessToken).json()["data"] as? [[String: Any]])
        XCTAssertEqual(listed.map { $0["label"] as? String }, ["main"], "no refused request changed the label")
    }

    // MARK: - DELETE /auth/v1/user

    private func count(_ sql: SQL) throws -> Int64 {
        try server.environment.pool.withServiceRole { try $0.query(sql) }[0].decode("n", as: Int64.self)
    }

    func testDeletingTheAccountRemovesEverythingItOwnsAndNothingElse() throws {
        let alice = try server.signUp("alice@example.com")
        let bob = try server.signUp("bob@example.com")
        for session in [alice, bob] {
            _ = try storeKey(token: session.accessToken)
            XCTAssertEqual(try server.post("/v1/projects", ["name": "p", "budget_limit": "10.00"], token: session.accessToken).status, 201)
        }
        _ = try server.signIn("alice@example.com")  // a second session
        let aliceID = try XCTUnwrap(UUID(uuidString: alice.userID))

        XCTAssertEqual(try delete("/auth/v1/user", token: alice.accessToken).status, 204)

        for table in ["public.projects", "public.user_api_keys", "public.budget_ledger", "auth.sessions"] {
            XCTAssertEqual(try count("select count(*) as n from \(SQL(unsafeRaw: table)) where user_id = \(aliceID)"), 0, table)
        }
        XCTAssertEqual(try count("select count(*) as n from auth.refresh_tokens where user_id = \(alice.userID)"), 0)
        XCTAssertEqual(try count("select count(*) as n from auth.users where id = \(aliceID)"), 0)
        assertAuthProblem(try server.signIn("alice@example.com"), 400, "invalid_credentials")
        assertAuthProblem(try server.refresh(alice.refreshToken), 400, "refresh_token_not_found")
        assertAuthProblem(try delete("/auth/v1/user", token: alice.accessToken), 403, "session_not_found")
        // The access token is still signed and unexpired, but it can no longer create anything.
        assertAuthProblem(try server.post("/v1/projects", ["name": "q"], token: alice.accessToken), 403, "user_not_found")
        assertAuthProblem(try server.post("/v1/api-keys", ["provider": "openai", "label": "x", "key": ApiKeyTests.sampleKey(.openai)],
                                          token: alice.accessToken), 403, "user_not_found")
        // Bob keeps everything.
        XCTAssertEqual(try XCTUnwrap(try server.get("/v1/api-keys", token: bob.accessToken).json()["data"] as? [Any]).count, 1)
        XCTAssertEqual(try server.get("/auth/v1/user", token: bob.accessToken).status, 200)
        // The address is free again.
        _ = try server.signUp("alice@example.com")
    }

    func testASignedOutTokenCannotDeleteTheAccount() throws {
        let alice = try server.signUp("alice@example.com")
        XCTAssertEqual(try server.post("/auth/v1/logout", [:], token: alice.accessToken).status, 204)
        assertAuthProblem(try delete("/auth/v1/user", token: alice.accessToken), 403, "session_not_found")
        assertAuthProblem(try server.connect().request("DELETE", "/auth/v1/user"), 401, "no_authorization")
        XCTAssertEqual(try server.signIn("alice@example.com").status, 200, "the account is still there")
    }
}

/// Development CORS: loopback origins on any port, exactly, and only when `APP_ENV=development`.
final class DevelopmentCORSTests: XCTestCase {
    func testLoopbackOriginsMatchExactly() {
        for origin in ["http://localhost:5173", "http://127.0.0.1:3000", "http://localhost", "http://127.0.0.1:65535"] {
            XCTAssertTrue(CORSPolicy.isLoopbackOrigin(origin), origin)
        }
        for origin in ["https://localhost:5173", "http://localhost.evil.example", "http://localhost:5173.evil.example",
                       "http://127.0.0.1@evil.example", "http://localhost:", "http://localhost:99999", "http://localhost:80/",
                       "http://127.0.0.10:80", "http://localhost:８０", "null"] {
            XCTAssertFalse(CORSPolicy.isLoopbackOrigin(origin), origin)
        }
    }

    private func preflight(_ server: TestServer, origin: String) throws -> HTTPTestConnection.Response {
        try server.connect().request("OPTIONS", "/v1/projects", headers: [
            "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"])
    }

    func testOnlyDevelopmentAllowsLoopbackOrigins() throws {
        let development = try TestServer(environment: ["APP_ENV": "development"])
        defer { development.stop() }
        let allowed = try preflight(development, origin: "http://localhost:5173")
        XCTAssertEqual(allowed.header("access-control-allow-origin"), "http://localhost:5173", allowed.text)
        XCTAssertEqual(try development.get("/healthz", token: nil, origin: "http://127.0.0.1:8081").header("access-control-allow-origin"),
                       "http://127.0.0.1:8081")
        XCTAssertEqual(try preflight(development, origin: "https://app.example.com").header("access-control-allow-origin"),
                       "https://app.example.com", "CORS_ALLOWED_ORIGINS still counts")
        XCTAssertEqual(try preflight(development, origin: "http://evil.example").status, 403)

        let test = try TestServer()
        defer { test.stop() }
        XCTAssertEqual(try preflight(test, origin: "http://localhost:5173").status, 403, "APP_ENV=test")
    }

    func testProductionNeverAllowsLoopbackOrigins() throws {
        let config = try AppConfig.load(from: [
            "APP_ENV": "production", "JWT_SECRET": "kT4#pW9zQ2!mX7vB1nR6yL3sD8fH5jC0gA",
            "APP_ENCRYPTION_SECRET": "uE2$wN7qZ5@rK1tY9oP4iM6xV3bS8dG0hJ",
            "DATABASE_URL": "postgresql://authenticator@127.0.0.1:1/none",
        ]).get()
        XCTAssertEqual(config.environment, .production)
        let environment = try ServerEnvironment.live(config: config, logger: Logger(minimumLevel: .error) { _ in })
        defer { environment.pool.close() }
        XCTAssertFalse(environment.corsPolicy.allows("http://localhost:5173"))
    }
}

extension TestServer {
    func get(_ path: String, token: String?, origin: String) throws -> HTTPTestConnection.Response {
        var headers = ["Origin": origin]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return try connect().request("GET", path, headers: headers)
    }
}

@testable import APIServer
import Foundation
import Persistence
import TestSupport
import XCTest

/// GoTrue's behaviour for sessions and refresh tokens, over real HTTP: lost responses, concurrent
/// refreshes, reuse, bans, `not_after`, and which endpoints check the session behind a JWT.
final class AuthSessionTests: XCTestCase {
    private var server: TestServer!
    /// Seconds; the tests sleep past it.
    private let reuseInterval = 1.0

    override func setUpWithError() throws {
        server = try TestServer(environment: ["REFRESH_TOKEN_REUSE_INTERVAL_SECONDS": "1"], extraRoutes: { environment in [
            // Stands in for an endpoint that spends money (a key check, a generation): it checks the session.
            Route("POST", "/probe/spend", "probeSpend") { request in
                _ = try environment.authenticator.liveIdentity(of: request)
                return .noContent()
            },
        ] })
    }

    override func tearDown() {
        server?.stop()
    }

    // MARK: refresh-token rotation

    func testARetryWithTheParentAfterTheIntervalGetsTheSessionsCurrentToken() throws {
        let first = try server.signUp("lost@example.com")
        // The client never stores this answer (the response was lost on the way).
        let lost = try server.session(from: server.refresh(first.refreshToken))
        Thread.sleep(forTimeInterval: reuseInterval + 0.3)

        let retried = try server.session(from: server.refresh(first.refreshToken))
        XCTAssertEqual(retried.refreshToken, lost.refreshToken, "the parent of the active token gets that token again")
        XCTAssertEqual(try server.get("/auth/v1/user", token: retried.accessToken).status, 200)
        XCTAssertEqual(try tokenCount(user: first.userID), 2, "no new token was minted for the retry")

        // The chain goes on from the current token as usual.
        let next = try server.session(from: server.refresh(retried.refreshToken))
        XCTAssertNotEqual(next.refreshToken, retried.refreshToken)
        XCTAssertEqual(try tokenCount(user: first.userID), 3)
    }

    func testConcurrentRefreshesOfOneTokenGetOneChild() throws {
        let session = try server.signUp("tabs10@example.com")
        let port = server.port
        let results = LockedLines()
        DispatchQueue.concurrentPerform(iterations: 10) { _ in
            do {
                let body = try JSONSerialization.data(withJSONObject: ["refresh_token": session.refreshToken])
                let response = try HTTPTestConnection(port: port).request("POST", "/auth/v1/token?grant_type=refresh_token",
                                                                         headers: ["Content-Type": "application/json"], body: body)
                let token = (try? response.json())?["refresh_token"] as? String ?? "-"
                results.append("\(response.status) \(token)")
            } catch {
                results.append("error \(error)")
            }
        }
        let lines = results.all
        XCTAssertEqual(lines.count, 10)
        XCTAssertEqual(lines.filter { $0.hasPrefix("200 ") }.count, 10, lines.joined(separator: "\n"))
        let distinct = Set(lines.filter { $0.hasPrefix("200 ") }.map { $0.dropFirst(4) })
        XCTAssertEqual(distinct.count, 1, "one child for one token, not a sibling per request")
        XCTAssertFalse(distinct.contains(Substring(session.refreshToken)))
        XCTAssertEqual(try tokenCount(user: session.userID), 2)
    }

    func testReusingAGrandparentAfterTheIntervalEndsTheSession() throws {
        let first = try server.signUp("grandparent@example.com")
        let second = try server.session(from: server.refresh(first.refreshToken))
        let third = try server.session(from: server.refresh(second.refreshToken))
        Thread.sleep(forTimeInterval: reuseInterval + 0.3)

        assertAuthProblem(try server.refresh(first.refreshToken), 400, "refresh_token_already_used")
        assertAuthProblem(try server.refresh(third.refreshToken), 400, "refresh_token_not_found")
        assertAuthProblem(try server.get("/auth/v1/user", token: third.accessToken), 403, "session_not_found")
        assertAuthProblem(try server.post("/probe/spend", [:], token: third.accessToken), 403, "session_not_found")
        XCTAssertEqual(try tokenCount(user: first.userID), 0)
    }

    func testReusingAGrandparentInsideTheIntervalGetsANewChildAsGoTrueDoes() throws {
        let first = try server.signUp("sibling@example.com")
        let second = try server.session(from: server.refresh(first.refreshToken))
        let third = try server.session(from: server.refresh(second.refreshToken))
        let sibling = try server.session(from: server.refresh(first.refreshToken))
        XCTAssertFalse([first.refreshToken, second.refreshToken, third.refreshToken].contains(sibling.refreshToken))
        XCTAssertEqual(try server.get("/auth/v1/user", token: sibling.accessToken).status, 200)
        XCTAssertEqual(try server.refresh(third.refreshToken).status, 200, "the other branch is not revoked")
    }

    // MARK: bans, not_after, deleted users

    func testABannedUserCanNeitherSignInNorRefreshNorUseTheSession() throws {
        let session = try server.signUp("banned@example.com")
        try sql("update auth.users set banned_until = now() + interval '1 hour' where id = \(session.userID)::uuid")
        let before = try tokenRows(user: session.userID)

        assertAuthProblem(try server.signIn("banned@example.com"), 400, "user_banned")
        assertAuthProblem(try server.signIn("banned@example.com", password: "not the password"), 400, "invalid_credentials")
        assertAuthProblem(try server.refresh(session.refreshToken), 400, "user_banned")
        assertAuthProblem(try server.get("/auth/v1/user", token: session.accessToken), 403, "user_banned")
        assertAuthProblem(try server.post("/probe/spend", [:], token: session.accessToken), 403, "user_banned")
        XCTAssertEqual(try tokenRows(user: session.userID), before, "a refused refresh writes nothing")

        try sql("update auth.users set banned_until = now() - interval '1 minute' where id = \(session.userID)::uuid")
        XCTAssertEqual(try server.signIn("banned@example.com").status, 200)
        XCTAssertEqual(try server.refresh(session.refreshToken).status, 200)
    }

    func testASessionPastNotAfterCanNeitherRefreshNorBeUsed() throws {
        let session = try server.signUp("notafter@example.com")
        try sql("update auth.sessions set not_after = now() - interval '1 second' where user_id = \(session.userID)::uuid")
        let before = try tokenRows(user: session.userID)
        assertAuthProblem(try server.refresh(session.refreshToken), 400, "session_expired")
        assertAuthProblem(try server.get("/auth/v1/user", token: session.accessToken), 403, "session_expired")
        assertAuthProblem(try server.post("/probe/spend", [:], token: session.accessToken), 403, "session_expired")
        XCTAssertEqual(try tokenRows(user: session.userID), before)

        let other = try server.session(from: server.signIn("notafter@example.com"))
        XCTAssertEqual(try server.get("/auth/v1/user", token: other.accessToken).status, 200, "a new session has no not_after")
    }

    func testARefreshForADeletedUserCommitsNothing() throws {
        let session = try server.signUp("deleted@example.com")
        try sql("update auth.users set deleted_at = now() where id = \(session.userID)::uuid")
        let tokens = try tokenRows(user: session.userID)
        let sessions = try sessionRows(user: session.userID)
        XCTAssertEqual(tokens.count, 1)

        assertAuthProblem(try server.refresh(session.refreshToken), 400, "refresh_token_not_found")
        XCTAssertEqual(try tokenRows(user: session.userID), tokens, "no token revoked or added")
        XCTAssertEqual(try sessionRows(user: session.userID), sessions, "the session is untouched")
        assertAuthProblem(try server.get("/auth/v1/user", token: session.accessToken), 403, "user_not_found")
    }

    // MARK: which endpoints check the session

    func testASignedOutSessionCannotReadTheAccountOrSpendButPlainReadsTrustTheJWTUntilExp() throws {
        let session = try server.signUp("signedout@example.com")
        XCTAssertEqual(try server.post("/probe/spend", [:], token: session.accessToken).status, 204, "control: a live session may spend")
        // The key check calls a provider: with a live session an unknown key is simply not found.
        let keyCheck = "/v1/api-keys/\(UUID().uuidString.lowercased())/test"
        XCTAssertEqual(try server.post(keyCheck, [:], token: session.accessToken).status, 404)
        XCTAssertEqual(try server.post("/auth/v1/logout", [:], token: session.accessToken).status, 204)

        assertAuthProblem(try server.get("/auth/v1/user", token: session.accessToken), 403, "session_not_found")
        assertAuthProblem(try server.put("/auth/v1/user", ["data": ["a": 1]], token: session.accessToken), 403, "session_not_found")
        assertAuthProblem(try server.post("/probe/spend", [:], token: session.accessToken), 403, "session_not_found")
        assertAuthProblem(try server.post(keyCheck, [:], token: session.accessToken), 403, "session_not_found")
        // Documented (README, openapi.yaml): data reads trust the signed token until `exp`, as PostgREST does.
        XCTAssertEqual(try server.get("/v1/projects", token: session.accessToken).status, 200)
    }

    /// A token signed out of its own session cannot sign the user out of the others (GoTrue answers
    /// 403 `session_not_found` there too); it could, while logout trusted any signed token.
    func testASignedOutTokenCannotEndTheUsersOtherSessions() throws {
        let first = try server.signUp("two-devices@example.com")
        let second = try server.signIn("two-devices@example.com")
        XCTAssertEqual(second.status, 200, second.text)
        let other = try XCTUnwrap(try second.json()["access_token"] as? String)
        XCTAssertEqual(try server.post("/auth/v1/logout?scope=local", [:], token: first.accessToken).status, 204)
        assertAuthProblem(try server.post("/auth/v1/logout", [:], token: first.accessToken), 403, "session_not_found")
        XCTAssertEqual(try server.get("/auth/v1/user", token: other).status, 200, "the other device stays signed in")
        XCTAssertEqual(try server.post("/auth/v1/logout", [:], token: other).status, 204)
        assertAuthProblem(try server.get("/auth/v1/user", token: other), 403, "session_not_found")
    }

    // MARK: user metadata

    func testNULInUserMetadataIsAValidationProblem() throws {
        for data: [String: Any] in [["name": "a\u{0}b"], ["a\u{0}": 1], ["nested": ["list": ["ok", "x\u{0}"]]]] {
            let response = try server.post("/auth/v1/signup", ["email": "nul@example.com", "password": "correct horse battery", "data": data])
            assertAuthProblem(response, 422, "validation_failed")
        }
        assertAuthProblem(try server.signIn("nul@example.com"), 400, "invalid_credentials")

        let session = try server.signUp("nul-update@example.com", data: ["kept": "yes"])
        assertAuthProblem(try server.put("/auth/v1/user", ["data": ["bio": "x\u{0}"]], token: session.accessToken), 422, "validation_failed")
        let user = try server.get("/auth/v1/user", token: session.accessToken)
        XCTAssertEqual(try user.json()["user_metadata"] as? [String: String], ["kept": "yes"])
    }

    // MARK: SQL helpers (as the database owner)

    private func sql(_ statement: SQL) throws {
        _ = try PostgresConnection(url: server.environment.config.migrationDatabaseURL).query(statement)
    }

    private func lines(_ query: SQL) throws -> [String] {
        let rows = try PostgresConnection(url: server.environment.config.migrationDatabaseURL).query(query)
        return try rows.map { try $0.decode("line", as: String.self) }
    }

    private func tokenRows(user: String) throws -> [String] {
        try lines("""
            select concat_ws('|', id, token, revoked, updated_at, parent, session_id) as line
            from auth.refresh_tokens where user_id = \(user) order by id
            """)
    }

    private func sessionRows(user: String) throws -> [String] {
        try lines("select concat_ws('|', id, updated_at, refreshed_at, not_after) as line from auth.sessions where user_id = \(user)::uuid order by id")
    }

    private func tokenCount(user: String) throws -> Int {
        try tokenRows(user: user).count
    }
}

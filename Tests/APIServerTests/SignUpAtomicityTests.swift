@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// Sign-up and sign-in are all or nothing: the account, its session and refresh token, and the
/// signed access token are made in one transaction, so a failure after the insert stores nothing.
final class SignUpAtomicityTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server?.stop()
    }

    /// A signer that fails every time, as the real one does for a token over its size limit.
    private struct FailingIssuer: AccessTokenIssuer {
        struct Refused: Error {}
        let lifetime: TimeInterval = 3600
        let maximumUserMetadataBytes = 16 * 1024
        func issue(user: AuthUser, sessionID: UUID, issuedAt: Date) throws -> String { throw Refused() }
    }

    private func service(tokens: any AccessTokenIssuer) throws -> AuthService {
        let live = server.environment.auth
        return try AuthService(store: PostgresAuthStore(pool: server.environment.pool), hasher: live.hasher, tokens: tokens,
                               refreshTokens: live.refreshTokens, rules: AuthRules())
    }

    private func count(_ sql: SQL) throws -> Int64 {
        try server.environment.pool.withServiceRole { try $0.query(sql) }[0].decode("n", as: Int64.self)
    }

    private func rows(email: String) throws -> (users: Int64, sessions: Int64, tokens: Int64) {
        (try count("select count(*) as n from auth.users where email = \(email)"),
         try count("select count(*) as n from auth.sessions s join auth.users u on u.id = s.user_id where u.email = \(email)"),
         try count("select count(*) as n from auth.refresh_tokens t join auth.users u on t.user_id = u.id::text where u.email = \(email)"))
    }

    func testASignerFailureAfterTheInsertStoresNoAccountSessionOrToken() throws {
        let failing = try service(tokens: FailingIssuer())
        XCTAssertThrowsError(try failing.signUp(email: "ada@example.com", password: "correct horse battery", metadata: nil, userAgent: nil)) {
            XCTAssertTrue($0 is FailingIssuer.Refused, "the signer's own error, not a later one: \($0)")
        }
        let left = try rows(email: "ada@example.com")
        XCTAssertEqual([left.users, left.sessions, left.tokens], [0, 0, 0], "nothing of the failed sign-up is committed")
        XCTAssertEqual(try count("select count(*) as n from auth.sessions"), 0)
        // The email is still free: the same person signs up and in normally.
        _ = try server.signUp("ada@example.com")
        XCTAssertEqual(try server.signIn("ada@example.com").status, 200)
    }

    func testASignerFailureAtSignInLeavesNoSessionAndNoSignInRecorded() throws {
        _ = try server.signUp("grace@example.com")
        let before = try server.environment.pool.withServiceRole {
            try $0.query("select last_sign_in_at from auth.users where email = 'grace@example.com'")
        }[0].decode("last_sign_in_at", as: Date.self)
        XCTAssertThrowsError(try service(tokens: FailingIssuer()).signIn(email: "grace@example.com", password: "correct horse battery",
                                                                          userAgent: nil))
        let after = try server.environment.pool.withServiceRole {
            try $0.query("select last_sign_in_at from auth.users where email = 'grace@example.com'")
        }[0].decode("last_sign_in_at", as: Date.self)
        XCTAssertEqual(after, before, "the sign-in was rolled back with the session")
        XCTAssertEqual(try rows(email: "grace@example.com").sessions, 1, "only the sign-up's session")
    }

    // MARK: - The metadata limit, over HTTP

    private var limit: Int { JWTAccessTokenIssuer.userMetadataBudget }

    /// `{"pad":"xxx…"}` of exactly `bytes` bytes as compact JSON.
    private func metadata(bytes: Int) -> [String: Any] {
        ["pad": String(repeating: "x", count: bytes - #"{"pad":""}"#.utf8.count)]
    }

    func testTooLargeMetadataAtSignUpIs422AndTheEmailStaysFree() throws {
        let response = try server.post("/auth/v1/signup", ["email": "big@example.com", "password": "correct horse battery",
                                                           "data": metadata(bytes: limit + 1)])
        assertAuthProblem(response, 422, "validation_failed")
        XCTAssertTrue(response.text.contains("at most \(limit)"), response.text)
        XCTAssertEqual(try rows(email: "big@example.com").users, 0)
        // The body the issue reported (about 8 KB of metadata) is refused the same way.
        assertAuthProblem(try server.post("/auth/v1/signup", ["email": "big@example.com", "password": "correct horse battery",
                                                              "data": metadata(bytes: 8000)]), 422, "validation_failed")
        _ = try server.signUp("big@example.com")
    }

    func testMetadataAtTheLimitSignsUpSignsInAndRefreshes() throws {
        let session = try server.signUp("full@example.com", data: metadata(bytes: limit))
        XCTAssertEqual(try server.signIn("full@example.com").status, 200)
        XCTAssertEqual(try server.refresh(session.refreshToken).status, 200)
    }

    func testAnUpdateThatWouldGrowMetadataPastTheLimitChangesNothing() throws {
        let half = String(repeating: "y", count: limit / 2)
        let session = try server.signUp("grow@example.com", data: ["a": half])
        // Each patch fits alone; merged they do not.
        assertAuthProblem(try server.put("/auth/v1/user", ["data": ["b": half]], token: session.accessToken), 422, "validation_failed")
        let user = try server.get("/auth/v1/user", token: session.accessToken)
        XCTAssertEqual((try user.json()["user_metadata"] as? [String: String])?.keys.sorted(), ["a"], "the merge was rolled back")
        XCTAssertEqual(try server.signIn("grow@example.com").status, 200, "the account still signs in")
        XCTAssertEqual(try server.refresh(session.refreshToken).status, 200)
        // Replacing the key (same size) and removing it are fine.
        XCTAssertEqual(try server.put("/auth/v1/user", ["data": ["a": NSNull(), "b": half]], token: session.accessToken).status, 200)
    }

    /// What a strict client (Swift `Int`, Go `int64` claims) decodes from the token sign-up hands out.
    func testTheIssuedTokensTimesAreIntegers() throws {
        struct StrictClaims: Decodable {
            struct Method: Decodable { let timestamp: Int64 }
            let exp: Int64
            let iat: Int64
            let amr: [Method]
        }
        let session = try server.signUp("times@example.com")
        let segments = session.accessToken.split(separator: ".")
        XCTAssertEqual(segments.count, 3)
        var payload = segments[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        payload += String(repeating: "=", count: (4 - payload.count % 4) % 4)
        let claims = try JSONDecoder().decode(StrictClaims.self, from: try XCTUnwrap(Data(base64Encoded: payload)))
        XCTAssertEqual(claims.exp - claims.iat, 3600)
        XCTAssertEqual(claims.amr.first?.timestamp, claims.iat)
    }

    func testIntegersBeyondTwoToThe53AreRefused() throws {
        let response = try server.connect().request("POST", "/auth/v1/signup", headers: ["Content-Type": "application/json"],
                                                     body: Data(#"{"email":"n@example.com","password":"correct horse battery","data":{"n":9007199254740993}}"#.utf8))
        assertAuthProblem(response, 422, "validation_failed")
        _ = try server.signUp("n@example.com", data: ["n": 9_007_199_254_740_992])
    }
}

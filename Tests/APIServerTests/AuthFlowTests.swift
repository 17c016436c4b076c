@testable import APIServer
import Crypto
import Domain
import Foundation
import TestSupport
import XCTest

final class AuthFlowTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["REFRESH_TOKEN_REUSE_INTERVAL_SECONDS": "1"])
    }

    override func tearDown() {
        server?.stop()
    }

    func testSignUpReturnsASupabaseSessionAndTheUserCanBeRead() throws {
        let response = try server.post("/auth/v1/signup", ["email": "  Ada@Example.COM ", "password": "correct horse battery",
                                                             "data": ["displayName": "Ada", "plan": ["tier": 1]]],
                                       headers: ["X-Supabase-Api-Version": "2024-01-01"])
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.header("x-supabase-api-version"), "2024-01-01")
        let body = try response.json()
        XCTAssertEqual(body["token_type"] as? String, "bearer")
        XCTAssertEqual(body["expires_in"] as? Int, 3600)
        let expiresAt = try XCTUnwrap(body["expires_at"] as? Int)
        XCTAssertEqual(Double(expiresAt), Date().timeIntervalSince1970 + 3600, accuracy: 5)
        let user = try XCTUnwrap(body["user"] as? [String: Any])
        XCTAssertEqual(user["email"] as? String, "ada@example.com")
        XCTAssertEqual(user["aud"] as? String, "authenticated")
        XCTAssertEqual((user["user_metadata"] as? [String: Any])?["displayName"] as? String, "Ada", "metadata keys are kept as sent")
        XCTAssertEqual((user["app_metadata"] as? [String: Any])?["provider"] as? String, "email")

        // The access token carries Supabase's claims.
        let token = try XCTUnwrap(body["access_token"] as? String)
        let payload = try Self.payload(of: token)
        XCTAssertEqual(payload["aud"] as? String, "authenticated")
        XCTAssertEqual(payload["role"] as? String, "authenticated")
        XCTAssertEqual(payload["sub"] as? String, user["id"] as? String)
        XCTAssertEqual(payload["email"] as? String, "ada@example.com")
        XCTAssertEqual(payload["aal"] as? String, "aal1")
        XCTAssertNotNil(payload["session_id"] as? String)
        XCTAssertNotNil(payload["iss"] as? String)
        XCTAssertNotNil(payload["amr"] as? [Any])
        XCTAssertEqual(payload["is_anonymous"] as? Bool, false)

        let me = try server.get("/auth/v1/user", token: token)
        XCTAssertEqual(me.status, 200)
        XCTAssertEqual(try me.json()["id"] as? String, user["id"] as? String)
    }

    func testSignUpValidation() throws {
        _ = try server.signUp("taken@example.com")
        assertAuthProblem(try server.post("/auth/v1/signup", ["email": "TAKEN@example.com", "password": "another long one"]), 422, "user_already_exists")
        let weak = try server.post("/auth/v1/signup", ["email": "weak@example.com", "password": "short"])
        assertAuthProblem(weak, 422, "weak_password")
        XCTAssertEqual((try weak.json()["weak_password"] as? [String: Any])?["reasons"] as? [String], ["length"])
        assertAuthProblem(try server.post("/auth/v1/signup", ["email": "long@example.com", "password": String(repeating: "é", count: 37)]),
                          422, "validation_failed")
        assertAuthProblem(try server.post("/auth/v1/signup", ["email": "not-an-email", "password": "correct horse battery"]), 422, "validation_failed")
        assertAuthProblem(try server.post("/auth/v1/signup", ["password": "correct horse battery"]), 422, "validation_failed")
    }

    func testWrongPasswordAndUnknownEmailLookTheSame() throws {
        _ = try server.signUp("real@example.com")
        let wrongPassword = try server.signIn("real@example.com", password: "not the password")
        let unknownEmail = try server.signIn("nobody@example.com", password: "not the password")
        assertAuthProblem(wrongPassword, 400, "invalid_credentials")
        assertAuthProblem(unknownEmail, 400, "invalid_credentials")
        var first = try wrongPassword.json()
        var second = try unknownEmail.json()
        first["request_id"] = nil
        second["request_id"] = nil
        XCTAssertEqual(NSDictionary(dictionary: first), NSDictionary(dictionary: second))
        XCTAssertEqual(try server.signIn("REAL@example.com").status, 200)
    }

    func testUnknownEmailTakesAboutAsLongAsAWrongPassword() throws {
        // Real cost here: with bcrypt at 10 a skipped hash would be 50 ms faster and stand out.
        let slow = try TestServer(environment: ["BCRYPT_COST": "10"])
        defer { slow.stop() }
        _ = try slow.signUp("timing@example.com")
        // Interleaved and compared by their fastest sample: load on a shared machine only ever adds
        // time, so the minimum is the closest to what the server itself spends on each.
        var wrongPassword = Double.infinity
        var unknownEmail = Double.infinity
        for _ in 0..<9 {
            for (email, isKnown) in [("timing@example.com", true), ("nobody-here@example.com", false)] {
                let start = Date()
                XCTAssertEqual(try slow.signIn(email, password: "wrong password!").status, 400)
                let elapsed = Date().timeIntervalSince(start)
                if isKnown { wrongPassword = min(wrongPassword, elapsed) } else { unknownEmail = min(unknownEmail, elapsed) }
            }
        }
        XCTAssertGreaterThan(unknownEmail / wrongPassword, 0.6, "unknown \(unknownEmail) s vs wrong password \(wrongPassword) s")
        XCTAssertLessThan(unknownEmail / wrongPassword, 1.6, "unknown \(unknownEmail) s vs wrong password \(wrongPassword) s")
    }

    func testRefreshRotatesAndReuseAfterTheIntervalRevokesTheSession() throws {
        let first = try server.signUp("rotate@example.com")
        let second = try server.session(from: server.refresh(first.refreshToken))
        XCTAssertNotEqual(second.refreshToken, first.refreshToken)
        XCTAssertEqual(second.userID, first.userID)
        // Inside the reuse interval the old token still works (a second tab refreshing at once) and,
        // as the parent of the active token, gets that same token (AuthSessionTests has the details).
        let concurrent = try server.session(from: server.refresh(first.refreshToken))
        XCTAssertEqual(concurrent.refreshToken, second.refreshToken)
        XCTAssertEqual(try server.get("/auth/v1/user", token: concurrent.accessToken).status, 200)
        let third = try server.session(from: server.refresh(second.refreshToken))

        Thread.sleep(forTimeInterval: 1.3)
        // `first` is no longer the active token's parent: its reuse after the interval is theft.
        assertAuthProblem(try server.refresh(first.refreshToken), 400, "refresh_token_already_used")
        // The whole session is gone: its tokens no longer refresh and /user refuses its access token.
        assertAuthProblem(try server.refresh(third.refreshToken), 400, "refresh_token_not_found")
        assertAuthProblem(try server.get("/auth/v1/user", token: third.accessToken), 403, "session_not_found")
    }

    func testConcurrentRefreshesOfOneTokenAllSucceed() throws {
        let session = try server.signUp("tabs@example.com")
        let port = server.port
        let statuses = LockedLines()
        let threads = (0..<6).map { _ in
            Thread {
                let body = try! JSONSerialization.data(withJSONObject: ["refresh_token": session.refreshToken])
                let status = (try? HTTPTestConnection(port: port).request("POST", "/auth/v1/token?grant_type=refresh_token",
                                                                          headers: ["Content-Type": "application/json"], body: body).status) ?? -1
                statuses.append(String(status))
            }
        }
        threads.forEach { $0.start() }
        let deadline = Date().addingTimeInterval(20)
        while statuses.all.count < 6 && Date() < deadline { usleep(5000) }
        XCTAssertEqual(statuses.all, Array(repeating: "200", count: 6))
    }

    func testUnknownRefreshTokenAndGrantType() throws {
        assertAuthProblem(try server.refresh("no-such-token"), 400, "refresh_token_not_found")
        assertAuthProblem(try server.post("/auth/v1/token?grant_type=magic", ["email": "a@b.co"]), 400, "unsupported_grant_type")
        assertAuthProblem(try server.post("/auth/v1/token", ["email": "a@b.co"]), 400, "unsupported_grant_type")
    }

    func testLogoutScopes() throws {
        let phone = try server.signUp("logout@example.com")
        let laptop = try server.session(from: server.signIn("logout@example.com"))
        let tablet = try server.session(from: server.signIn("logout@example.com"))

        XCTAssertEqual(try server.post("/auth/v1/logout?scope=local", [:], token: phone.accessToken).status, 204)
        assertAuthProblem(try server.get("/auth/v1/user", token: phone.accessToken), 403, "session_not_found")
        XCTAssertEqual(try server.get("/auth/v1/user", token: laptop.accessToken).status, 200)

        XCTAssertEqual(try server.post("/auth/v1/logout?scope=others", [:], token: laptop.accessToken).status, 204)
        XCTAssertEqual(try server.get("/auth/v1/user", token: laptop.accessToken).status, 200)
        assertAuthProblem(try server.get("/auth/v1/user", token: tablet.accessToken), 403, "session_not_found")
        assertAuthProblem(try server.refresh(tablet.refreshToken), 400, "refresh_token_not_found")

        XCTAssertEqual(try server.post("/auth/v1/logout", [:], token: laptop.accessToken).status, 204)
        assertAuthProblem(try server.get("/auth/v1/user", token: laptop.accessToken), 403, "session_not_found")
        // A signed-out token is refused before its scope is read (as GoTrue's authentication runs first).
        assertAuthProblem(try server.post("/auth/v1/logout?scope=everywhere", [:], token: laptop.accessToken), 403, "session_not_found")
        let desk = try server.session(from: server.signIn("logout@example.com"))
        assertAuthProblem(try server.post("/auth/v1/logout?scope=everywhere", [:], token: desk.accessToken), 422, "validation_failed")
    }

    func testUpdateUserMergesMetadataAndANewPasswordEndsOtherSessions() throws {
        let current = try server.signUp("update@example.com", data: ["theme": "dark", "lang": "en"])
        let other = try server.session(from: server.signIn("update@example.com"))

        let merged = try server.put("/auth/v1/user", ["data": ["lang": "fr", "theme": NSNull(), "beta": true]], token: current.accessToken)
        XCTAssertEqual(merged.status, 200, merged.text)
        let metadata = try XCTUnwrap(try merged.json()["user_metadata"] as? [String: Any])
        XCTAssertEqual(metadata["lang"] as? String, "fr")
        XCTAssertEqual(metadata["beta"] as? Bool, true)
        XCTAssertNil(metadata["theme"])
        XCTAssertEqual(try server.get("/auth/v1/user", token: other.accessToken).status, 200, "metadata changes keep sessions")

        XCTAssertEqual(try server.put("/auth/v1/user", ["password": "a brand new password"], token: current.accessToken).status, 200)
        XCTAssertEqual(try server.get("/auth/v1/user", token: current.accessToken).status, 200)
        assertAuthProblem(try server.get("/auth/v1/user", token: other.accessToken), 403, "session_not_found")
        assertAuthProblem(try server.signIn("update@example.com"), 400, "invalid_credentials")
        XCTAssertEqual(try server.signIn("update@example.com", password: "a brand new password").status, 200)
        assertAuthProblem(try server.put("/auth/v1/user", ["password": "tiny"], token: current.accessToken), 422, "weak_password")
    }

    /// Metadata numbers read as GoTrue writes them (an integer as one, any other number as the
    /// double it reads as), the same in the sign-up answer, from the stored row and in a token,
    /// though PostgreSQL's jsonb writes `1e-300` back out in full.
    func testMetadataNumbersReadTheSameFromSignUpTheStoredRowAndTheToken() throws {
        let body = #"{"email":"numbers@example.com","password":"correct horse battery","data":{"b":1.50,"a":[1e-300,-0,12],"n":{"k":"v"}}}"#
        let signedUp = try server.connect().request("POST", "/auth/v1/signup", headers: ["Content-Type": "application/json"], body: Data(body.utf8))
        let session = try server.session(from: signedUp)
        let expected = #""user_metadata":{"a":[1e-300,0,12],"b":1.5,"n":{"k":"v"}}"#
        XCTAssertTrue(signedUp.text.contains(expected), signedUp.text)
        let stored = try server.get("/auth/v1/user", token: session.accessToken)
        XCTAssertTrue(stored.text.contains(expected), stored.text)
        let refreshed = try server.session(from: server.refresh(session.refreshToken))
        let claims = try XCTUnwrap(Base64URL.decode(String(refreshed.accessToken.split(separator: ".")[1])))
        XCTAssertTrue(String(decoding: claims, as: UTF8.self).contains(expected), String(decoding: claims, as: UTF8.self))
    }

    func testTamperedTokensAreRefused() throws {
        let session = try server.signUp("tamper@example.com")
        let parts = session.accessToken.split(separator: ".").map(String.init)
        var payload = try Self.payload(of: session.accessToken)
        let now = Date().timeIntervalSince1970

        func encode(_ object: [String: Any]) throws -> String {
            Base64URL.encode(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        }
        func signed(header: [String: Any], payload: [String: Any], secret: String) throws -> String {
            let input = try encode(header) + "." + encode(payload)
            return input + "." + Base64URL.encode(try HMACSHA256.mac(for: Array(input.utf8), key: Array(secret.utf8)))
        }

        let none = try encode(["alg": "none", "typ": "JWT"]) + "." + parts[1] + "."
        let hs512 = try encode(["alg": "HS512", "typ": "JWT"]) + "." + parts[1] + "." + parts[2]
        payload["email"] = "admin@example.com"
        let edited = parts[0] + "." + (try encode(payload)) + "." + parts[2]
        var expiredClaims = try Self.payload(of: session.accessToken)
        expiredClaims["exp"] = now - 3600
        expiredClaims["iat"] = now - 7200
        let expired = try signed(header: ["alg": "HS256", "typ": "JWT"], payload: expiredClaims, secret: TestServer.jwtSecret)
        var wrongAudience = try Self.payload(of: session.accessToken)
        wrongAudience["aud"] = "some-other-service"
        let otherAudience = try signed(header: ["alg": "HS256", "typ": "JWT"], payload: wrongAudience, secret: TestServer.jwtSecret)
        let wrongSecret = try signed(header: ["alg": "HS256", "typ": "JWT"], payload: try Self.payload(of: session.accessToken),
                                     secret: "another-secret-0123456789abcdefghijkl")
        // Control: a token we sign the same way with the right secret is accepted.
        let control = try signed(header: ["alg": "HS256", "typ": "JWT"], payload: try Self.payload(of: session.accessToken), secret: TestServer.jwtSecret)
        XCTAssertEqual(try server.get("/auth/v1/user", token: control).status, 200)

        for (name, token) in [("alg none", none), ("HS512", hs512), ("edited payload", edited), ("expired", expired),
                              ("wrong aud", otherAudience), ("wrong secret", wrongSecret), ("garbage", "abc.def.ghi")] {
            let response = try server.get("/auth/v1/user", token: token)
            XCTAssertEqual(response.status, 401, name)
            XCTAssertEqual(response.header("x-sb-error-code"), "bad_jwt", name)
            XCTAssertEqual(response.header("www-authenticate"), "Bearer", name)
        }
        assertAuthProblem(try server.get("/auth/v1/user", token: nil), 401, "no_authorization")
        assertAuthProblem(try server.connect().request("GET", "/auth/v1/user", headers: ["Authorization": "Basic abc"]), 401, "no_authorization")
    }

    func testTokenEndpointIsRateLimitedPerClient() throws {
        var last: HTTPTestConnection.Response?
        for _ in 0..<31 {
            last = try server.post("/auth/v1/token?grant_type=password", ["email": "flood@example.com", "password": "x"])
            if last?.status == 429 { break }
        }
        let response = try XCTUnwrap(last)
        assertAuthProblem(response, 429, "over_request_rate_limit")
        XCTAssertGreaterThanOrEqual(Int(response.header("retry-after") ?? "") ?? 0, 1)
    }

    static func payload(of token: String) throws -> [String: Any] {
        let segment = String(token.split(separator: ".")[1])
        let bytes = try XCTUnwrap(Base64URL.decode(segment))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }
}

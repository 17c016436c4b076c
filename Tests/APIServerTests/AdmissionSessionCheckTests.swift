@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// The live-session check of `POST /v1/generations` and `POST /v1/chat/completions` rides in
/// admission's first read (migration 130, `app_engine.session_state`) instead of a round trip of
/// its own. Every way a session ends must still be refused exactly as `liveIdentity(of:)` refuses
/// it (the `/probe/spend` route), before anything is written, whatever else is wrong with the request.
final class AdmissionSessionCheckTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var server: TestServer!

    override func setUpWithError() throws {
        let fake = try FakeProvidersProcess()
        self.fake = fake
        server = try TestServer(environment: ["OPENAI_BASE_URL": fake.baseURLs["OPENAI_BASE_URL"] ?? ""], extraRoutes: { environment in [
            Route("POST", "/probe/spend", "probeSpend") { request in
                _ = try environment.authenticator.liveIdentity(of: request)
                return .noContent()
            },
        ] })
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    /// A user with a key and a project, whose session `end` then ends (SQL as the owner).
    private func endedSession(_ email: String, _ end: (String) throws -> Void) throws -> (token: String, project: String, userID: String) {
        let session = try server.signUp(email)
        let stored = try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)],
                                     token: session.accessToken)
        XCTAssertEqual(stored.status, 201, stored.text)
        let project = try XCTUnwrap(try server.createProject(["name": "Ended"], token: session.accessToken)["id"] as? String)
        try end(session.userID)
        return (session.accessToken, project, session.userID)
    }

    private func sql(_ statement: SQL) throws {
        _ = try PostgresConnection(url: server.environment.config.migrationDatabaseURL).query(statement)
    }

    private func count(_ query: SQL) throws -> Int {
        let rows = try PostgresConnection(url: server.environment.config.migrationDatabaseURL).query(query)
        return Int(try XCTUnwrap(rows.first).decode("n", as: Int64.self))
    }

    private func code(_ response: HTTPTestConnection.Response) -> String? {
        guard let json = try? response.json() else { return nil }
        return json["code"] as? String ?? (json["error"] as? [String: Any])?["code"] as? String
    }

    private func chat(_ body: [String: Any], token: String, headers: [String: String] = [:]) throws -> HTTPTestConnection.Response {
        try HTTPTestConnection(port: server.port, timeoutSeconds: 30).request(
            "POST", "/v1/chat/completions", headers: headers.merging(["Content-Type": "application/json", "Authorization": "Bearer \(token)"]) { $1 },
            body: try JSONSerialization.data(withJSONObject: body))
    }

    private func assertRefusedAsTheProbe(_ email: String, expected: String, _ end: (String) throws -> Void,
                                         file: StaticString = #filePath, line: UInt = #line) throws {
        let (token, project, userID) = try endedSession(email, end)
        let probe = try server.post("/probe/spend", [:], token: token)
        XCTAssertEqual(code(probe), expected, probe.text, file: file, line: line)
        let valid: [String: Any] = ["project_id": project, "type": "text", "prompt": "Hello", "provider": "openai"]
        let refused = [
            ("generation", try server.generate(valid, token: token, wait: 10)),
            ("generation with a bad body", try server.generate(["project_id": project, "type": "text"], token: token)),
            ("generation on another's project", try server.generate(valid.merging(["project_id": UUID().uuidString]) { $1 }, token: token)),
            ("chat on the default project", try chat(["model": "gpt-4o-mini", "messages": [["role": "user", "content": "Hi"]]], token: token)),
            ("chat on a named project", try chat(["model": "gpt-4o-mini", "messages": [["role": "user", "content": "Hi"]]], token: token,
                                                 headers: ["X-Project-Id": project])),
            ("chat with a bad body", try chat(["model": "gpt-4o-mini"], token: token)),
        ]
        for (name, response) in refused {
            XCTAssertEqual(response.status, probe.status, "\(name): \(response.text)", file: file, line: line)
            XCTAssertEqual(code(response), expected, "\(name): \(response.text)", file: file, line: line)
        }
        XCTAssertEqual(refused.count, 6)
        XCTAssertEqual(try count("select count(*) as n from public.generations where user_id = \(userID)::uuid"), 0,
                       "nothing was admitted", file: file, line: line)
        XCTAssertEqual(try count("select count(*) as n from public.projects where user_id = \(userID)::uuid and is_default"), 0,
                       "no default project was made", file: file, line: line)
        XCTAssertEqual(try count("select count(*) as n from public.user_api_keys where user_id = \(userID)::uuid and last_used_at is not null"), 0,
                       "no key was used", file: file, line: line)
    }

    func testASignedOutSessionIsRefusedAsBeforeWhateverTheRequest() throws {
        try assertRefusedAsTheProbe("signed-out@example.com", expected: "session_not_found") { user in
            try sql("delete from auth.sessions where user_id = \(user)::uuid")
        }
    }

    func testABannedUserIsRefusedAsBeforeWhateverTheRequest() throws {
        try assertRefusedAsTheProbe("banned-admission@example.com", expected: "user_banned") { user in
            try sql("update auth.users set banned_until = now() + interval '1 hour' where id = \(user)::uuid")
        }
    }

    func testASessionPastNotAfterIsRefusedAsBeforeWhateverTheRequest() throws {
        try assertRefusedAsTheProbe("not-after-admission@example.com", expected: "session_expired") { user in
            try sql("update auth.sessions set not_after = now() - interval '1 second' where user_id = \(user)::uuid")
        }
    }

    func testADeletedUserIsRefusedAsBeforeWhateverTheRequest() throws {
        try assertRefusedAsTheProbe("deleted-admission@example.com", expected: "user_not_found") { user in
            try sql("update auth.users set deleted_at = now() where id = \(user)::uuid")
        }
    }

    func testALiveSessionStillGenerates() throws {
        let (token, project, _) = try endedSession("live-admission@example.com") { _ in }
        let response = try server.generate(["project_id": project, "type": "text", "prompt": "Hello", "provider": "openai"], token: token, wait: 30)
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(try response.json()["status"] as? String, "succeeded")
    }

    /// The session state function answers for the caller's own session only: another user's
    /// session id in the call (or a session id other than the claims') finds nothing.
    func testSessionStateShowsOnlyTheCallersOwnSession() throws {
        let alice = try server.signUp("alice-state@example.com")
        let bob = try server.signUp("bob-state@example.com")
        let claims = { (user: String, session: String) in
            #"{"sub":"\#(user)","role":"authenticated","aud":"authenticated","session_id":"\#(session)"}"#
        }
        let aliceSession = try XCTUnwrap(try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
            .query("select id::text as id from auth.sessions where user_id = \(alice.userID)::uuid").first?.decode("id", as: String.self))
        let bobSession = try XCTUnwrap(try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
            .query("select id::text as id from auth.sessions where user_id = \(bob.userID)::uuid").first?.decode("id", as: String.self))
        let pool = server.environment.pool
        let own = try pool.userScopeStatement(claimsJSON: claims(alice.userID, aliceSession), readOnly: true,
                                              "select user_deleted from app_engine.session_state(\(aliceSession)::uuid)")
        XCTAssertEqual(own.count, 1)
        let others = try pool.userScopeStatement(claimsJSON: claims(alice.userID, aliceSession), readOnly: true,
                                                 "select user_deleted from app_engine.session_state(\(bobSession)::uuid)")
        XCTAssertEqual(others.count, 0, "another user's session")
        let notTheClaims = try pool.userScopeStatement(claimsJSON: claims(alice.userID, bobSession), readOnly: true,
                                                       "select user_deleted from app_engine.session_state(\(aliceSession)::uuid)")
        XCTAssertEqual(notTheClaims.count, 0, "a session other than the claims'")
        XCTAssertThrowsError(try pool.userScopeStatement(claimsJSON: claims(alice.userID, aliceSession), readOnly: true,
                                                         "select count(*) from auth.sessions"), "authenticated still reads no session itself")
    }
}

@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// A chat request whose Idempotency-Key's first request runs in another process (a retry that
/// reached another instance) is not woken by that process: it reads the key every few seconds,
/// so it answers within seconds of the first request's end instead of at the 600 s deadline.
final class ChatDuplicateWaitTests: XCTestCase {
    func testADuplicateNoticesAnAnswerGivenElsewhereWithinSeconds() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.signUp("duplicate-elsewhere@example.com")
        let body = try JSONSerialization.data(withJSONObject: ["model": "gpt-4o-mini", "messages": [["role": "user", "content": "Once"]]])
        let hash = GenerationHandlers.requestHash(HTTPRequest(method: "POST", path: "/v1/chat/completions", query: [:], headers: [:],
                                                              body: body, requestID: "test"))
        let owner = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
        // Claimed by a first request in another process, still running.
        _ = try owner.query("""
            insert into public.idempotency_keys (user_id, key, request_hash) values (\(session.userID)::uuid, 'elsewhere-1', \(hash))
            """)
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) {
            // That request fails without a charge and gives its key up.
            _ = try? owner.query("delete from public.idempotency_keys where key = 'elsewhere-1'")
        }
        let started = Date()
        let response = try HTTPTestConnection(port: server.port, timeoutSeconds: 30).request("POST", "/v1/chat/completions", headers: [
            "Content-Type": "application/json", "Authorization": "Bearer \(session.accessToken)", "Idempotency-Key": "elsewhere-1",
        ], body: body)
        XCTAssertEqual(response.status, 409, response.text)
        XCTAssertEqual((try response.json()["error"] as? [String: Any])?["code"] as? String, "idempotency_in_progress")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "noticed by reading the key, not at the deadline")
        XCTAssertEqual(try owner.query("select count(*)::integer as n from public.idempotency_keys where key = 'elsewhere-1'")[0]
                           .decode("n", as: Int.self), 0, "the key is free for the client's retry")
    }
}

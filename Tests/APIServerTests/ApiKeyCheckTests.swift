@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// `POST /v1/api-keys/{id}/test` against a fake OpenAI on loopback speaking OpenAI's wire format.
final class ApiKeyCheckTests: XCTestCase {
    func testKeyCheckRecordsValidInvalidAndInconclusiveWithoutLeakingTheKey() throws {
        let good = SampleKeys.openAI()
        let revoked = SampleKeys.openAI()
        let throttled = SampleKeys.openAI()
        let openAI = try FakeHTTPServer { request in
            guard request.method == "GET", request.path == "/v1/models" else { return .empty(404) }
            switch request.header("authorization") {
            case "Bearer \(good)":
                return .json(200, #"{"object":"list","data":[{"id":"gpt-4o-mini","object":"model"}]}"#)
            case "Bearer \(throttled)":
                return .json(429, #"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
                             headers: [("retry-after", "3600")])
            default:
                // OpenAI echoes part of a wrong key in its message; none of it may reach our answers.
                return .json(401, #"{"error":{"message":"Incorrect API key provided: \#(revoked). You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#)
            }
        }
        let server = try TestServer(environment: ["OPENAI_BASE_URL": openAI.baseURL + "/v1"])
        defer { server.stop() }
        let alice = try server.signUp("checker@example.com")
        let bob = try server.signUp("other-checker@example.com")

        func store(_ key: String, _ label: String) throws -> String {
            let created = try server.post("/v1/api-keys", ["provider": "openai", "label": label, "key": key], token: alice.accessToken)
            XCTAssertEqual(created.status, 201, created.text)
            return try XCTUnwrap(try created.json()["id"] as? String)
        }
        let goodID = try store(good, "good")
        let revokedID = try store(revoked, "revoked")
        let throttledID = try store(throttled, "throttled")

        let valid = try server.post("/v1/api-keys/\(goodID)/test", [:], token: alice.accessToken)
        XCTAssertEqual(valid.status, 200, valid.text)
        XCTAssertEqual(try valid.json()["result"] as? String, "valid")
        XCTAssertEqual((try valid.json()["key"] as? [String: Any])?["status"] as? String, "valid")
        XCTAssertNotNil((try valid.json()["key"] as? [String: Any])?["last_checked_at"] as? String)

        let invalid = try server.post("/v1/api-keys/\(revokedID)/test", [:], token: alice.accessToken)
        XCTAssertEqual(try invalid.json()["result"] as? String, "invalid")
        XCTAssertTrue((try invalid.json()["reason"] as? String)?.hasPrefix("invalid_key") == true, invalid.text)
        XCTAssertEqual((try invalid.json()["key"] as? [String: Any])?["status"] as? String, "invalid")

        let inconclusive = try server.post("/v1/api-keys/\(throttledID)/test", [:], token: alice.accessToken)
        XCTAssertEqual(try inconclusive.json()["result"] as? String, "inconclusive", inconclusive.text)
        XCTAssertEqual((try inconclusive.json()["key"] as? [String: Any])?["status"] as? String, "unchecked")

        // The provider saw the real key; nothing we answered or logged contains any of it.
        XCTAssertTrue(openAI.requests.contains { $0.header("authorization") == "Bearer \(good)" })
        if let leak = KeyLeakDetector(keys: [good, revoked, throttled])
            .firstLeak(in: [valid.text, invalid.text, inconclusive.text] + server.logLines.all) {
            XCTFail("a piece of a key (\(leak.piece)) leaked into: \(leak.text)")
        }

        XCTAssertEqual(try server.post("/v1/api-keys/\(goodID)/test", [:], token: bob.accessToken).status, 404, "other users' keys do not exist")
        XCTAssertEqual(try server.post("/v1/api-keys/not-a-uuid/test", [:], token: alice.accessToken).status, 404)
    }
}

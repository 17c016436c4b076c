@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// A Claude quote counts its prompt with Anthropic's `count_tokens` when the caller holds a usable
/// Anthropic key (the quote runs on the provider work queue, never on an HTTP thread), and falls
/// back silently to the upper bound without a key or when Anthropic fails.
final class QuoteClaudeCountTests: XCTestCase {
    func testClaudeQuotesUseAnthropicsCountWithAKeyAndTheBoundOtherwise() throws {
        let key = SampleKeys.anthropic()
        let anthropic = try FakeHTTPServer { request in
            guard request.method == "POST", request.path == "/v1/messages/count_tokens", request.header("x-api-key") == key else {
                return .empty(404)
            }
            if request.bodyText.contains("provider outage") {
                return .json(500, #"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#)
            }
            return .json(200, #"{"input_tokens":42}"#)
        }
        let server = try TestServer(environment: ["ANTHROPIC_BASE_URL": anthropic.baseURL])
        defer { server.stop() }
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let token = try server.signUp("claude-quotes@example.com").accessToken
        let project = try XCTUnwrap(try server.createProject(["name": "Claude", "budget_limit": "50"], token: token)["id"] as? String)
        func inputTokens(_ prompt: String) throws -> [String: Any] {
            let response = try server.post("/v1/quotes", ["project_id": project, "type": "text", "prompt": prompt, "provider": "anthropic",
                                                          "model": "claude-sonnet-4-5", "parameters": ["max_output_tokens": 10]], token: token)
            XCTAssertEqual(response.status, 200, response.text)
            let candidate = try XCTUnwrap((try response.json()["candidates"] as? [[String: Any]])?.first, response.text)
            return try XCTUnwrap(candidate["input_tokens"] as? [String: Any], "\(candidate)")
        }

        let prompt = "Write one line about the sea, please, in plain words."
        XCTAssertEqual(try inputTokens(prompt)["counted_with"] as? String, "utf8_bytes_bound", "no key: the bound")
        XCTAssertTrue(anthropic.requests.isEmpty)

        let stored = try server.post("/v1/api-keys", ["provider": "anthropic", "label": "main", "key": key], token: token)
        XCTAssertEqual(stored.status, 201, stored.text)
        let counted = try inputTokens(prompt)
        XCTAssertEqual(counted["count"] as? Int, 42)
        XCTAssertEqual(counted["counted_with"] as? String, "anthropic_count_tokens")
        XCTAssertEqual(counted["kind"] as? String, "estimated")

        let outage = try inputTokens("provider outage " + prompt)
        XCTAssertEqual(outage["counted_with"] as? String, "utf8_bytes_bound", "a failing count falls back silently")
    }
}

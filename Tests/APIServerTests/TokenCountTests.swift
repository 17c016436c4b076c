@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// `POST /v1/tokens/count`: exact counts with the loaded encodings, upper bounds marked
/// `estimated` elsewhere, chat framing, empty texts, and the documented refusals.
final class TokenCountTests: XCTestCase {
    private var server: TestServer!
    private var token = ""

    override func setUpWithError() throws {
        // Both ranks files, as scripts/test.sh provides them (TestServer passes cl100k's on its own).
        let o200k = try TokenTestFiles.path("TIKTOKEN_O200K_PATH")
        server = try TestServer(environment: ["TIKTOKEN_O200K_PATH": o200k])
        token = try server.signUp("tokens@example.com").accessToken
    }

    override func tearDown() {
        server.stop()
    }

    private func count(_ body: [String: Any], token: String? = nil) throws -> HTTPTestConnection.Response {
        try server.post("/v1/tokens/count", body, token: token ?? self.token)
    }

    func testOpenAIModelsAreCountedExactlyWithTheirEncoding() throws {
        let response = try count(["model": "gpt-4o", "text": "hello world"])
        XCTAssertEqual(response.status, 200, response.text)
        let body = try response.json()
        XCTAssertEqual(body["count"] as? Int, 2)
        XCTAssertEqual(body["kind"] as? String, "exact")
        XCTAssertEqual(body["encoding"] as? String, "o200k_base")
        XCTAssertEqual(body["provider"] as? String, "openai", "taken from the model id")
        XCTAssertEqual(body["framing_tokens"] as? Int, 0)
        // 1234567 is three o200k tokens (123|456|7), and cl100k's for gpt-4.
        XCTAssertEqual(try count(["model": "gpt-5.4-mini", "provider": "openai", "text": "1234567"]).json()["count"] as? Int, 3)
        let gpt4 = try count(["model": "gpt-4", "text": "hello world"]).json()
        XCTAssertEqual(gpt4["encoding"] as? String, "cl100k_base")
        XCTAssertEqual(gpt4["kind"] as? String, "exact")
        let routed = try count(["model": "openai/gpt-4.1", "text": "hello world"]).json()
        XCTAssertEqual(routed["provider"] as? String, "openrouter")
        XCTAssertEqual(routed["kind"] as? String, "exact")
    }

    func testClaudeIsAnUpperBoundMarkedEstimated() throws {
        let body = try count(["model": "claude-sonnet-4-5", "text": "héllo"]).json()
        XCTAssertEqual(body["count"] as? Int, 6, "one per UTF-8 byte")
        XCTAssertEqual(body["kind"] as? String, "estimated")
        XCTAssertEqual(body["encoding"] as? String, "unpublished")
        XCTAssertEqual(body["counted_with"] as? String, "utf8_bytes_bound")
        XCTAssertEqual(body["provider"] as? String, "anthropic")
    }

    /// With a stored Anthropic key, Claude's count is Anthropic's own (cached per user, model and text);
    /// a failing count_tokens falls back to the bound without an error.
    func testClaudeUsesAnthropicsCountTokensWithAKeyAndFallsBackSilently() throws {
        let key = "sk-ant-api03-" + ApiKeyTests.hex(80)
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
        let token = try server.signUp("claude-counts@example.com").accessToken
        func count(_ text: String) throws -> [String: Any] {
            let response = try server.post("/v1/tokens/count", ["model": "claude-sonnet-4-5", "text": text], token: token)
            XCTAssertEqual(response.status, 200, response.text)
            return try response.json()
        }

        XCTAssertEqual(try count("hello there")["counted_with"] as? String, "utf8_bytes_bound", "no key: the bound")
        XCTAssertTrue(anthropic.requests.isEmpty)

        let stored = try server.post("/v1/api-keys", ["provider": "anthropic", "label": "main", "key": key], token: token)
        XCTAssertEqual(stored.status, 201, stored.text)
        let counted = try count("hello there")
        XCTAssertEqual(counted["count"] as? Int, 42)
        XCTAssertEqual(counted["counted_with"] as? String, "anthropic_count_tokens")
        XCTAssertEqual(counted["kind"] as? String, "estimated")
        XCTAssertEqual(try count("hello there")["count"] as? Int, 42)
        XCTAssertEqual(anthropic.requests.count, 1, "the second count comes from the cache")
        // Another user without a key gets the bound for the same text: a cached count answering
        // them would tell them someone counted exactly that text.
        let other = try server.signUp("claude-guesser@example.com").accessToken
        let guessed = try server.post("/v1/tokens/count", ["model": "claude-sonnet-4-5", "text": "hello there"], token: other)
        XCTAssertEqual(guessed.status, 200, guessed.text)
        XCTAssertEqual(try guessed.json()["counted_with"] as? String, "utf8_bytes_bound")
        XCTAssertEqual(anthropic.requests.count, 1)

        let outage = try count("provider outage")
        XCTAssertEqual(outage["count"] as? Int, "provider outage".utf8.count)
        XCTAssertEqual(outage["counted_with"] as? String, "utf8_bytes_bound")
    }

    /// Quotes use the same counter: an o200k model's input tokens are exact, Claude's the bound.
    func testQuotesForOpenAIModelsCountExactly() throws {
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let project = try server.createProject(["name": "Counts", "budget_limit": "50"], token: token)
        let projectID = try XCTUnwrap(project["id"] as? String)
        for (provider, model) in [("openai", "gpt-4o"), ("openai", "gpt-5-mini"), ("anthropic", "claude-sonnet-4-5")] {
            let response = try server.post("/v1/quotes", ["project_id": projectID, "type": "text", "prompt": "1234567",
                                                          "provider": provider, "model": model, "parameters": ["max_output_tokens": 10]], token: token)
            XCTAssertEqual(response.status, 200, response.text)
            let candidates = try XCTUnwrap(try response.json()["candidates"] as? [[String: Any]])
            let input = try XCTUnwrap(candidates.first?["input_tokens"] as? [String: Any], response.text)
            if provider == "openai" {
                XCTAssertEqual(input["kind"] as? String, "exact", model)
                XCTAssertEqual(input["count"] as? Int, 3, model)
                XCTAssertEqual(input["counted_with"] as? String, "o200k_base", model)
            } else {
                XCTAssertEqual(input["kind"] as? String, "estimated", model)
                XCTAssertEqual(input["count"] as? Int, 7, model)
            }
        }
    }

    func testEmptyAndWhitespaceTextsAreCounted() throws {
        let empty = try count(["model": "gpt-4o", "text": ""])
        XCTAssertEqual(empty.status, 200, empty.text)
        XCTAssertEqual(try empty.json()["count"] as? Int, 0)
        let spaces = try count(["model": "gpt-4o", "text": "   "])
        XCTAssertEqual(spaces.status, 200, spaces.text)
        XCTAssertEqual(try spaces.json()["count"] as? Int, 1, "three spaces are one o200k token")
    }

    func testChatMessagesCountRolesContentsAndFraming() throws {
        let response = try count(["model": "gpt-4o", "messages": [
            ["role": "system", "content": "hello world"], ["role": "user", "content": "", "name": "ann"],
        ]])
        XCTAssertEqual(response.status, 200, response.text)
        let body = try response.json()
        let framing = 3 + 3 + 1 + 3
        XCTAssertEqual(body["framing_tokens"] as? Int, framing)
        let o200k = try TokenTestFiles.o200k()
        let texts = ["system", "hello world", "user", "", "ann"].map(o200k.count).reduce(0, +)
        XCTAssertEqual(body["count"] as? Int, texts + framing)
        XCTAssertEqual(body["kind"] as? String, "exact")
    }

    func testRefusals() throws {
        XCTAssertEqual(try server.post("/v1/tokens/count", ["model": "gpt-4o", "text": "x"]).status, 401)
        let cases: [([String: Any], String)] = [
            (["text": "x"], "model"),
            (["model": "gpt-4o"], "text"),
            (["model": "gpt-4o", "text": "x", "messages": [["role": "user", "content": "x"]]], "messages"),
            (["model": "gpt-4o", "messages": []], "messages"),
            (["model": "gpt-4o", "messages": [["role": "robot", "content": "x"]]], "messages[0].role"),
            (["model": "gpt-4o", "messages": [["role": "user"]]], "messages[0].content"),
            (["model": "", "text": "x"], "model"),
            (["model": "gpt-4o", "provider": "acme", "text": "x"], "provider"),
        ]
        for (body, field) in cases {
            let response = try count(body)
            XCTAssertEqual(response.status, 422, "\(body): \(response.text)")
            let errors = try response.json()["errors"] as? [[String: Any]] ?? []
            XCTAssertTrue(errors.contains { $0["field"] as? String == field }, "\(body) names \(field): \(response.text)")
        }
        let unknown = try count(["model": "gpt-4o", "text": "x", "tokens": 3])
        XCTAssertEqual(unknown.status, 422)
        XCTAssertEqual(try unknown.json()["code"] as? String, "unknown_field")
    }

    func testAnUnreadableRanksFileStopsTheServerFromStarting() {
        XCTAssertThrowsError(try FileTokenRanks(paths: [.o200kBase: "/nonexistent/o200k_base.tiktoken"]).ranksData(for: .o200kBase)) {
            XCTAssertEqual($0 as? TokenizerError, .ranksFileUnreadable(path: "/nonexistent/o200k_base.tiktoken"))
        }
        XCTAssertNil(try FileTokenRanks(paths: [:]).ranksData(for: .cl100kBase), "an unconfigured encoding is absent")
        XCTAssertThrowsError(try TestServer(environment: ["TIKTOKEN_O200K_PATH": "/nonexistent/o200k_base.tiktoken"])) {
            XCTAssertTrue("\($0)".contains("TIKTOKEN_O200K_PATH"), "\($0)")
        }
    }
}

/// The ranks files scripts/test.sh exports; a run without them fails, never skips.
enum TokenTestFiles {
    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    static func path(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw Missing(description: "\(name) is not set; scripts/test.sh exports it (scripts/fetch-token-ranks.sh prints it).")
        }
        return value
    }

    static func o200k() throws -> O200kTokenizer {
        try O200kTokenizer(ranksData: try Data(contentsOf: URL(fileURLWithPath: try path("TIKTOKEN_O200K_PATH"))))
    }
}



@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// The provider's finish reason, stored on the generation by the call that finishes it
/// (migration 135), shown by `GET /v1/generations/{id}` in the provider's words and answered by
/// `POST /v1/chat/completions` in OpenAI's names.
final class ChatFinishReasonTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var server: TestServer!
    private var token = ""
    private var client: ChatWireClient!

    override func setUpWithError() throws {
        let fake = try FakeProvidersProcess(arguments: [])
        self.fake = fake
        server = try TestServer(environment: fake.baseURLs)
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("finish-reason@example.com").accessToken
        for provider in [ProviderID.openai, .anthropic] {
            let stored = try server.post("/v1/api-keys", ["provider": provider.rawValue, "label": "main", "key": ApiKeyTests.sampleKey(provider)],
                                         token: token)
            XCTAssertEqual(stored.status, 201, stored.text)
        }
        client = ChatWireClient(port: server.port, token: token)
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    /// (chat's finish_reason, the generation's finish_reason) for one completion.
    private func reasons(model: String, maxTokens: Int) throws -> (chat: String?, stored: String?) {
        let answer = try client.complete(ChatWireClient.body(model: model, content: "Tell me a long story about the sea and its ships.",
                                                             maxTokens: maxTokens))
        XCTAssertEqual(answer.status, 200, answer.text)
        let choice = (answer.json["choices"] as? [[String: Any]])?.first
        let id = try XCTUnwrap(answer.generationID, "\(answer.headers)")
        let generation = try server.get("/v1/generations/\(id)", token: token)
        XCTAssertEqual(generation.status, 200, generation.text)
        return (choice?["finish_reason"] as? String, try generation.json()["finish_reason"] as? String)
    }

    func testAnOpenAIAnswerCutByMaxTokensFinishesWithLength() throws {
        let cut = try reasons(model: "openai/gpt-4o-mini", maxTokens: 1)
        XCTAssertEqual(cut.chat, "length", "a cut answer is not a natural stop")
        XCTAssertEqual(cut.stored, "length")
        let whole = try reasons(model: "openai/gpt-4o-mini", maxTokens: 2000)
        XCTAssertEqual(whole.chat, "stop")
        XCTAssertEqual(whole.stored, "stop")
    }

    func testAnthropicsReasonsAreStoredAsSaidAndAnsweredInOpenAIsNames() throws {
        let cut = try reasons(model: "anthropic/claude-haiku-4-5", maxTokens: 1)
        XCTAssertEqual(cut.stored, "max_tokens", "the provider's own word on the generation")
        XCTAssertEqual(cut.chat, "length", "OpenAI's name for it on the chat answer")
        let whole = try reasons(model: "anthropic/claude-haiku-4-5", maxTokens: 2000)
        XCTAssertEqual(whole.stored, "end_turn")
        XCTAssertEqual(whole.chat, "stop")
    }

    func testEveryProviderReasonMapsToOneOfOpenAIsNames() {
        let expected: [String?: String] = [
            "stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", nil: "stop", "something_new": "stop",
            "length": "length", "max_tokens": "length", "model_context_window_exceeded": "length",
            "content_filter": "content_filter", "refusal": "content_filter",
            "tool_calls": "tool_calls", "tool_use": "tool_calls", "function_call": "function_call",
        ]
        XCTAssertEqual(expected.count, 14)
        let mapped = Dictionary(uniqueKeysWithValues: expected.keys.map { ($0, ChatFinishReason.openAI($0)) })
        XCTAssertEqual(mapped, expected)
    }
}

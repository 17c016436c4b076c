@testable import APIServer
import Domain
import Foundation
import XCTest

/// How an OpenAI chat body is read: `provider/model`, text parts, the options passed on, and
/// the members refused rather than dropped.
final class ChatRequestTests: XCTestCase {
    private func decode(_ body: String) throws -> ChatRequest {
        try ChatRequest.decode(HTTPRequest(method: "POST", path: "/v1/chat/completions", query: [:], headers: [:],
                                           body: Data(body.utf8), requestID: "test"))
    }

    private func refusal(_ body: String) -> (code: String, fields: [String])? {
        do {
            _ = try decode(body)
            return nil
        } catch let problem as Problem {
            return (problem.code, problem.errors?.map(\.field) ?? [])
        } catch let error as DomainError {
            guard case .validation(let errors) = error else { return ("domain", []) }
            return ("validation_failed", errors.map(\.field))
        } catch {
            return ("other", [])
        }
    }

    func testProviderSlashModelNamesAProviderOnlyWhenThePrefixIsOne() {
        XCTAssertTrue(ChatRequest.split("openai/gpt-4o-mini") == (.openai, "gpt-4o-mini"))
        XCTAssertTrue(ChatRequest.split("meta-llama/llama-3-70b") == (nil, "meta-llama/llama-3-70b"), "OpenRouter-style ids stay whole")
        XCTAssertTrue(ChatRequest.split("gpt-4o-mini") == (nil, "gpt-4o-mini"))
        XCTAssertTrue(ChatRequest.split("openai/") == (nil, "openai/"))
    }

    func testMessagesAndOptionsAreReadAsSent() throws {
        let chat = try decode(#"""
            {"model": "gpt-4o-mini", "max_tokens": 10, "max_completion_tokens": 20, "temperature": 0.7, "top_p": 1, "seed": 7,
             "stop": "END", "stream": true, "stream_options": {"include_usage": true}, "user": "u-1", "n": 1,
             "messages": [{"role": "system", "content": "Be brief."},
                          {"role": "user", "name": "ann", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}]}
            """#)
        XCTAssertEqual(chat.maxTokens, 20, "max_completion_tokens wins over max_tokens")
        XCTAssertTrue(chat.stream)
        XCTAssertTrue(chat.includeUsage)
        XCTAssertEqual(chat.options.messages, [ChatMessage(role: "system", content: "Be brief."),
                                               ChatMessage(role: "user", content: "one\ntwo", name: "ann")])
        XCTAssertEqual(chat.options.temperature, Decimal(string: "0.7"))
        XCTAssertEqual(chat.options.seed, 7)
        XCTAssertEqual(chat.options.stop, ["END"])
        XCTAssertEqual(chat.options.transcript, "system: Be brief.\nuser (ann): one\ntwo", "the name is billed input, so it is counted")
        XCTAssertNil(chat.options.store, "absent: not filed")
        XCTAssertEqual(try decode(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "store": true}"#).options.store, true)
        XCTAssertNil(try decode(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "store": false}"#).options.store)
        XCTAssertNil(try decode(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "store": null}"#).options.store)
        XCTAssertEqual(refusal(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "store": "yes"}"#)?.fields, ["store"])
    }

    func testWhatCannotBeHonouredIsRefusedByName() {
        XCTAssertEqual(refusal(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": []}"#)?.code, "unknown_field")
        XCTAssertEqual(refusal(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"x": 1}, "stream": true}"#)?.code,
                       "unknown_field")
        XCTAssertEqual(refusal(#"{"model": "m", "messages": [{"role": "tool", "content": "x"}]}"#)?.fields, ["messages[0].role"])
        XCTAssertEqual(refusal(#"{"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}"#)?.fields,
                       ["messages[0].content[0]"])
        XCTAssertEqual(refusal(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 3}"#)?.fields, ["n"])
        XCTAssertEqual(refusal(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true}}"#)?.fields,
                       ["stream_options"], "stream_options without stream")
        XCTAssertEqual(refusal(#"{"model": "m", "messages": []}"#)?.fields, ["messages"])
        XCTAssertEqual(refusal(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3}"#)?.fields, ["temperature"])
        XCTAssertEqual(refusal(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": ["a", "b", "c", "d", "e"]}"#)?.fields, ["stop"])
        XCTAssertEqual(refusal(#"{"messages": [{"role": "user", "content": "x"}]}"#)?.fields, ["model"])
        XCTAssertEqual(refusal(#"["not", "an", "object"]"#)?.code, "bad_json")
    }

    func testTheStreamedPiecesJoinToTheTextExactly() {
        for text in ["Hello there, friend!", "  leading and trailing  ", "", "one\n\ntwo\tthree", "ünïcödé wörds 👋🏽 ok"] {
            XCTAssertEqual(ChatCompletion.pieces(of: text).joined(), text)
        }
        XCTAssertEqual(ChatCompletion.pieces(of: "a b  c"), ["a ", "b  ", "c"])
    }
}

import Domain
import Foundation
@testable import Providers
import Synchronization
import TestSupport
import XCTest

/// The adapters' streaming text calls against recorded stream shapes (providers.md §1.1, §2.1,
/// §3.1): each text delta reaches the sink, the result equals what the finished answer says
/// (text, usage, finish reason, request id), and a stream that errs, is cut or lacks its usage is
/// a provider error.
final class StreamingTextTests: ProviderTestCase {
    private final class Collected: Sendable {
        let pieces = Mutex<[String]>([])
        let ends = Mutex<[String?]>([])
        var sink: TextDeltaSink {
            TextDeltaSink(delta: { [self] piece in pieces.withLock { $0.append(piece) } },
                          end: { [self] reason in ends.withLock { $0.append(reason) } })
        }
    }

    private func server(_ body: String, headers: [(String, String)] = []) throws -> FakeHTTPServer {
        let server = try FakeHTTPServer { _ in
            FakeHTTPServer.Response(status: 200, headers: [("Content-Type", "text/event-stream")] + headers, body: Data(body.utf8))
        }
        return track(server)
    }

    private func chunk(_ delta: String, finish: String? = nil) -> String {
        let reason = finish.map { "\"\($0)\"" } ?? "null"
        return #"data: {"id":"chatcmpl-S","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(reason)}],"usage":null}"# + "\n\n"
    }

    private var usageChunk: String {
        #"data: {"id":"chatcmpl-S","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":3,"total_tokens":22,"prompt_tokens_details":{"cached_tokens":4}}}"# + "\n\n"
    }

    private func chat(_ model: String = "gpt-4o-mini") -> GenerationRequest {
        GenerationRequest(kind: .text, model: model, prompt: "Hi", parameters: GenerationParameters(maxOutputTokens: 50),
                          outputDirectory: outputDirectory)
    }

    private func openAI(_ server: FakeHTTPServer) -> OpenAIProvider {
        OpenAIProvider(baseURL: server.baseURL + "/v1", context: makeContext(client: makeClient(), retry: .none))
    }

    private func output(_ result: ProviderResult) throws -> GenerationOutput {
        guard case let .finished(output) = result else { throw TestSupportError("expected a finished result") }
        return output
    }

    func testOpenAIStreamDeliversEachDeltaAndReturnsTheExactUsage() async throws {
        let body = chunk(#"{"role":"assistant","content":""}"#) + chunk(#"{"content":"Hel"}"#) + chunk(#"{"content":"lo!"}"#)
            + chunk("{}", finish: "length") + usageChunk + "data: [DONE]\n\n"
        let server = try server(body, headers: [("x-request-id", "req_stream_1")])
        let collected = Collected()
        let result = try output(try await openAI(server).submitStreaming(chat(), key: ProviderAPIKey(TestKeys.openAI), sink: collected.sink))
        XCTAssertEqual(collected.pieces.withLock { $0 }, ["Hel", "lo!"])
        XCTAssertEqual(collected.ends.withLock { $0 }, ["length"])
        XCTAssertEqual(result.text, "Hello!")
        XCTAssertEqual(result.finishReason, "length")
        XCTAssertEqual(result.providerRequestID, "req_stream_1")
        XCTAssertEqual(result.usage.inputTokens, 15)
        XCTAssertEqual(result.usage.cachedInputReadTokens, 4)
        XCTAssertEqual(result.usage.outputTokens, 3)
        let sent = try XCTUnwrap(server.requests.first?.bodyText)
        XCTAssertTrue(sent.contains(#""stream":true,"stream_options":{"include_usage":true}"#), sent)
    }

    func testAnErrorInsideTheStreamIsAProviderErrorThatIsNotRetriedAfterText() async throws {
        let body = chunk(#"{"content":"Hel"}"#) + #"data: {"error":{"message":"The server had an error","type":"server_error","code":null}}"# + "\n\n"
        let server = try server(body)
        let collected = Collected()
        do {
            _ = try await openAI(server).submitStreaming(chat(), key: ProviderAPIKey(TestKeys.openAI), sink: collected.sink)
            XCTFail("an error event fails the call")
        } catch {
            XCTAssertEqual(error.kind, .providerDown)
            XCTAssertFalse(error.isRetryable, "part of the answer was delivered: no second answer may follow it")
            XCTAssertTrue(error.message.contains("after 3 characters of text; no usage was reported before it"), error.message)
        }
        XCTAssertEqual(server.requests.count, 1)
        XCTAssertEqual(collected.ends.withLock { $0 }, [], "no end for a failed stream")
    }

    func testAStreamCutBeforeItsEndOrWithoutUsageIsMalformed() async throws {
        for body in [chunk(#"{"content":"Hel"}"#) + chunk("{}", finish: "stop") + usageChunk,
                     chunk(#"{"content":"Hel"}"#) + chunk("{}", finish: "stop") + "data: [DONE]\n\n",
                     chunk(#"{"content":"Hel"}"#) + "data: {not json\n\n"] {
            let server = try server(body)
            do {
                _ = try await openAI(server).submitStreaming(chat(), key: ProviderAPIKey(TestKeys.openAI), sink: Collected().sink)
                XCTFail("accepted: \(body)")
            } catch {
                XCTAssertEqual(error.kind, .malformedResponse, "\(body): \(error)")
            }
        }
    }

    func testAnthropicStreamTakesInputUsageFromMessageStartAndOutputFromMessageDelta() async throws {
        func event(_ name: String, _ data: String) -> String { "event: \(name)\ndata: \(data)\n\n" }
        let body = event("message_start", #"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_read_input_tokens":5,"output_tokens":1}}}"#)
            + event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#)
            + event("ping", #"{"type":"ping"}"#)
            + event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#)
            + event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}}"#)
            + event("content_block_stop", #"{"type":"content_block_stop","index":0}"#)
            + event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":6}}"#)
            + event("message_stop", #"{"type":"message_stop"}"#)
        let server = try server(body, headers: [("request-id", "req_anthropic_s")])
        let adapter = AnthropicProvider(baseURL: server.baseURL, context: makeContext(client: makeClient(), retry: .none))
        let collected = Collected()
        let result = try output(try await adapter.submitStreaming(chat("claude-sonnet-4-5"), key: ProviderAPIKey(TestKeys.anthropic),
                                                                  sink: collected.sink))
        XCTAssertEqual(collected.pieces.withLock { $0 }, ["Hello", " there"])
        XCTAssertEqual(result.text, "Hello there")
        XCTAssertEqual(result.finishReason, "max_tokens")
        XCTAssertEqual(result.usage.inputTokens, 12)
        XCTAssertEqual(result.usage.cachedInputReadTokens, 5)
        XCTAssertEqual(result.usage.outputTokens, 6)
        XCTAssertEqual(result.providerRequestID, "req_anthropic_s")
        XCTAssertTrue(try XCTUnwrap(server.requests.first?.bodyText).contains(#""stream":true"#))

        let overloaded = try self.server(event("message_start", #"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":3,"output_tokens":1}}}"#)
            + event("error", #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#))
        let failing = AnthropicProvider(baseURL: overloaded.baseURL, context: makeContext(client: makeClient(), retry: .none))
        do {
            _ = try await failing.submitStreaming(chat("claude-sonnet-4-5"), key: ProviderAPIKey(TestKeys.anthropic), sink: Collected().sink)
            XCTFail("an error event fails the call")
        } catch {
            XCTAssertEqual(error.kind, .providerDown, "\(error)")
            XCTAssertTrue(error.message.contains("usage reported before it: 3 input, 1 output tokens"), error.message)
        }
    }

    func testOpenRouterStreamSkipsCommentsAndKeepsTheReportedCost() async throws {
        let usage = #"data: {"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"openai/gpt-4o-mini","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,"cost":0.0000027}}"# + "\n\n"
        let server = try server(": OPENROUTER PROCESSING\n\n" + chunk(#"{"content":"Hi"}"#) + chunk("{}", finish: "stop") + usage + "data: [DONE]\n\n")
        let adapter = OpenRouterProvider(baseURL: server.baseURL, context: makeContext(client: makeClient(), retry: .none))
        let result = try output(try await adapter.submitStreaming(chat("openai/gpt-4o-mini"), key: ProviderAPIKey(TestKeys.openRouter),
                                                                  sink: Collected().sink))
        XCTAssertEqual(result.text, "Hi")
        XCTAssertEqual(result.usage.providerReportedCostUSD, Decimal(string: "0.0000027"))
        XCTAssertEqual(result.usage.outputTokens, 2)
    }
}

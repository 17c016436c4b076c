@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// `stream: true` token by token, against `fake-providers` speaking each provider's stream
/// format: a delta reaches the client while the provider still holds the rest of its answer
/// (the fake's explicit `held` hold, released by the test), the finish reason is the provider's
/// (mapped to OpenAI's names), the usage chunk carries the settled cost, a cut upstream stream
/// ends in an error chunk charged what the provider billed until then, and a client that leaves
/// mid-stream cancels the generation while the provider's charge is still recorded.
final class ChatStreamingTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var fakePort: Int { fake?.port ?? 0 }
    private var server: TestServer!
    private var token = ""
    private var user = ""

    private func userID() throws -> UUID { try XCTUnwrap(UUID(uuidString: user)) }

    override func setUpWithError() throws {
        fake = try FakeProvidersProcess(arguments: [])
        let origin = "http://127.0.0.1:\(fakePort)"
        server = try TestServer(environment: ["OPENAI_BASE_URL": origin + "/openai/v1", "ANTHROPIC_BASE_URL": origin + "/anthropic",
                                              "OPENROUTER_BASE_URL": origin + "/openrouter/api/v1"])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("stream@example.com")
        token = session.accessToken
        user = session.userID
        for provider in ["openai", "anthropic", "openrouter"] {
            let key: String = switch provider {
            case "openai": ApiKeyTests.sampleKey(.openai)
            case "anthropic": ApiKeyTests.sampleKey(.anthropic)
            default: ApiKeyTests.sampleKey(.openrouter)
            }
            let stored = try server.post("/v1/api-keys", ["provider": provider, "label": "main", "key": key], token: token)
            XCTAssertEqual(stored.status, 201, stored.text)
        }
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    private func project() throws -> String {
        try XCTUnwrap(try server.createProject(["name": "Stream", "budget_period": "total", "budget_limit": "5"], token: token)["id"] as? String)
    }

    private func open(_ body: [String: Any], project: String) throws -> ChatStreamReader {
        let reader = try ChatStreamReader(port: server.port, token: token, body: body, headers: ["X-Project-Id": project], timeoutSeconds: 20)
        XCTAssertEqual(reader.status, 200, String(decoding: reader.plainBody, as: UTF8.self))
        XCTAssertEqual(reader.headers["content-type"], "text/event-stream")
        return reader
    }

    /// Releases the fake's held streams; checks that exactly one was held (the test's own).
    private func releaseHeldStreams(file: StaticString = #filePath, line: UInt = #line) throws {
        let response = try HTTPTestConnection(port: fakePort).request("POST", "/_fake/release")
        XCTAssertEqual(response.status, 200, response.text, file: file, line: line)
        XCTAssertEqual(try response.json()["released"] as? Int, 1, "the provider was still holding the rest of its stream",
                       file: file, line: line)
    }

    private func json(_ payload: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any], payload)
    }

    private func content(_ chunk: [String: Any]) -> String? {
        ((chunk["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
    }

    private func generation(_ id: String) throws -> [String: Any] {
        try server.get("/v1/generations/\(id)", token: token).json()
    }

    /// Reads the role chunk and the first content chunk while the fake holds the rest, checks the
    /// generation is still running (its provider has not finished), then releases and reads the
    /// rest. Returns the whole stream.
    private func streamHeldAfterFirstDelta(_ body: [String: Any], project: String,
                                           file: StaticString = #filePath, line: UInt = #line) throws -> ChatWireClient.Stream {
        let reader = try open(body, project: project)
        let generationID = try XCTUnwrap(reader.headers["x-generation-id"], file: file, line: line)
        let role = try json(try XCTUnwrap(try reader.nextData(), file: file, line: line))
        XCTAssertEqual(((role["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["role"] as? String, "assistant",
                       file: file, line: line)
        // The fake sends its first text event and then holds: this read can only succeed if the
        // delta was forwarded as it arrived (a buffered answer would block here until the timeout).
        let first = try json(try XCTUnwrap(try reader.nextData(), "the first delta arrives while the provider holds the rest",
                                           file: file, line: line))
        XCTAssertFalse(try XCTUnwrap(content(first), "\(first)", file: file, line: line).isEmpty, file: file, line: line)
        XCTAssertEqual(try generation(generationID)["status"] as? String, "running", "the provider's stream has not ended yet",
                       file: file, line: line)
        try releaseHeldStreams()
        let rest = try reader.rest()
        return try ChatWireClient.stream([try XCTUnwrap(String(data: try JSONSerialization.data(withJSONObject: role), encoding: .utf8)),
                                          try XCTUnwrap(String(data: try JSONSerialization.data(withJSONObject: first), encoding: .utf8))]
                                         + rest, status: reader.status, headers: reader.headers)
    }

    /// The project's ledger moved by exactly `amount` since `before`, and nothing is left reserved.
    private func assertCharged(_ amount: Money, since before: (spent: Money, reserved: Money), project: String, _ message: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let after = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(after.spent - before.spent, amount, message, file: file, line: line)
        XCTAssertEqual(after.reserved, .zero, file: file, line: line)
    }

    private func finishReason(_ stream: ChatWireClient.Stream) -> String? {
        stream.chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }.last
    }

    func testOpenAIFirstDeltaReachesTheClientWhileTheProviderStillHoldsTheRest() throws {
        let project = try project()
        let stream = try streamHeldAfterFirstDelta(ChatWireClient.body(content: "Stream this [fake:held]", maxTokens: 64, stream: true),
                                                   project: project)
        XCTAssertTrue(stream.sawDone)
        XCTAssertEqual(stream.content, "This is a fake openai reply to: Stream this [fake:held]")
        XCTAssertGreaterThan(stream.chunks.filter { content($0) != nil }.count, 3, "several deltas, as the provider sent them")
        XCTAssertEqual(finishReason(stream), "stop")
        XCTAssertTrue(stream.chunks.allSatisfy { $0["usage"] == nil }, "no usage chunk without include_usage")
        // The provider was asked to stream, with its usage in the last chunk.
        let recorded = try HTTPTestConnection(port: fakePort).request("GET", "/_fake/requests?provider=openai&limit=1").text
        XCTAssertTrue(recorded.contains("include_usage"), recorded)
        let generation = try generation(try XCTUnwrap(stream.headers["x-generation-id"]))
        XCTAssertEqual(generation["status"] as? String, "succeeded")
    }

    func testAnthropicStreamsDeltasMapsMaxTokensToLengthAndItsUsageChunkCostIsTheLedgersChange() throws {
        let project = try project()
        let before = try server.budget(of: project, token: token)
        let stream = try streamHeldAfterFirstDelta(
            ChatWireClient.body(model: "claude-haiku-4-5", content: "Please write a longer answer than this [fake:held]", maxTokens: 6,
                                stream: true, includeUsage: true), project: project)
        XCTAssertTrue(stream.sawDone)
        XCTAssertTrue(stream.content.hasPrefix("This is a fake anthro"), stream.content)
        XCTAssertEqual(finishReason(stream), "length", "Anthropic's max_tokens stop is OpenAI's length")
        let usage = try XCTUnwrap(stream.usage, "include_usage: the last chunk carries the usage")
        XCTAssertEqual((stream.chunks.last?["choices"] as? [Any])?.count, 0)
        XCTAssertEqual(usage["completion_tokens"] as? Int, 6)
        let cost = try Money(parsing: try XCTUnwrap(usage["cost_usd"] as? String))
        XCTAssertGreaterThan(cost, .zero)
        try assertCharged(cost, since: before, project: project, "the usage chunk is sent after settlement: its cost is the ledger's change")
    }

    func testOpenRouterStreamsAndItsUsageChunkCarriesTheReportedCostTheLedgerCharged() throws {
        let project = try project()
        let before = try server.budget(of: project, token: token)
        let stream = try streamHeldAfterFirstDelta(
            ChatWireClient.body(model: "openrouter/openai/gpt-4o-mini", content: "Stream via the router [fake:held]", maxTokens: 64,
                                stream: true, includeUsage: true), project: project)
        XCTAssertTrue(stream.sawDone)
        XCTAssertEqual(stream.content, "This is a fake openrouter reply to: Stream via the router [fake:held]")
        XCTAssertEqual(finishReason(stream), "stop")
        let usage = try XCTUnwrap(stream.usage)
        let cost = try Money(parsing: try XCTUnwrap(usage["cost_usd"] as? String))
        // OpenRouter's own `usage.cost` from the stream's last chunk is the charge (its model is `provider_reported`).
        XCTAssertGreaterThan(cost, .zero)
        let generation = try generation(try XCTUnwrap(stream.headers["x-generation-id"]))
        XCTAssertEqual(generation["actual_cost_usd"] as? String, usage["cost_usd"] as? String, "\(generation)")
        XCTAssertEqual(try server.settledBudget(of: project, token: token).spent - before.spent, cost)
    }

    func testLocalProviderStreamsItsOfflineTextInSeveralDeltas() throws {
        let project = try project()
        let reader = try open(ChatWireClient.body(model: "local/offline-text", content: "one two three four", maxTokens: 1000, stream: true,
                                                  includeUsage: true), project: project)
        let stream = try ChatWireClient.stream(try reader.rest(), status: reader.status, headers: reader.headers)
        XCTAssertTrue(stream.sawDone)
        XCTAssertGreaterThan(stream.chunks.filter { content($0) != nil && content($0) != "" }.count, 5, "word by word")
        XCTAssertTrue(stream.content.contains("one two three four"), stream.content)
        XCTAssertEqual(finishReason(stream), "stop")
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(stream.usage?["cost_usd"] as? String)), .zero)
    }

    func testOpenAIFinishReasonIsLengthWhenTheProviderCutsTheAnswer() throws {
        let project = try project()
        let stream = try ChatWireClient(port: server.port, token: token).stream(
            ChatWireClient.body(content: "A prompt whose answer is long enough to cut", maxTokens: 3, stream: true),
            headers: ["X-Project-Id": project])
        XCTAssertTrue(stream.sawDone, stream.raw)
        XCTAssertEqual(finishReason(stream), "length")
    }

    /// OpenAI reports usage only in a stream's final chunk: a stream cut after text reached the
    /// client is charged the input tokens as admission counted them and the output tokens counted
    /// here in the text sent (with the model's tokenizer where it is loaded, else its upper
    /// bound), a charged failure that says its usage is our count (`usage_counted_with`). It was charged nothing before, though OpenAI billed
    /// the tokens it generated.
    func testAnOpenAIStreamCutAfterTextIsChargedTheTokensCountedHere() throws {
        try assertCutStreamIsChargedTheTokensCountedHere(model: "gpt-4o-mini", provider: .openai)
    }

    /// OpenRouter speaks OpenAI's stream format, usage in the last chunk included: the same.
    func testAnOpenRouterStreamCutAfterTextIsChargedTheTokensCountedHere() throws {
        try assertCutStreamIsChargedTheTokensCountedHere(model: "openai/gpt-4o-mini", provider: .openrouter)
    }

    private func assertCutStreamIsChargedTheTokensCountedHere(model: String, provider: ProviderID,
                                                            file: StaticString = #filePath, line: UInt = #line) throws {
        let project = try project()
        let reader = try open(ChatWireClient.body(model: model, content: "Cut me off [fake:cut_off]", maxTokens: 64, stream: true,
                                                  includeUsage: true), project: project)
        let payloads = try reader.rest()
        XCTAssertFalse(payloads.contains("[DONE]"), "a failed stream does not end as if complete: \(payloads)", file: file, line: line)
        XCTAssertTrue(payloads.dropLast().allSatisfy { !$0.contains("\"usage\":{") }, "the provider's usage chunk never came",
                      file: file, line: line)
        let sent = payloads.dropLast().compactMap { content((try? json($0)) ?? [:]) }.joined()
        XCTAssertFalse(sent.isEmpty, "text arrived before the cut: \(payloads)", file: file, line: line)
        let error = try XCTUnwrap(try json(try XCTUnwrap(payloads.last))["error"] as? [String: Any], "\(payloads)", file: file, line: line)
        XCTAssertEqual(error["code"] as? String, "network_error", "the fake drops the connection mid-body", file: file, line: line)
        XCTAssertEqual(error["type"] as? String, "invalid_request_error", "422, never a status OpenAI's SDKs retry: \(error)",
                       file: file, line: line)
        XCTAssertTrue((error["message"] as? String ?? "").contains("USD was charged"), "\(error)", file: file, line: line)

        let id = try XCTUnwrap(reader.headers["x-generation-id"], file: file, line: line)
        let generation = try generation(id)
        XCTAssertEqual(generation["status"] as? String, "failed", file: file, line: line)
        XCTAssertEqual(generation["cost_status"] as? String, "priced", "\(generation)", file: file, line: line)
        let lines = try XCTUnwrap(generation["cost_lines"] as? [[String: Any]], file: file, line: line)
        func quantity(_ unit: String) -> String? { lines.first { $0["unit"] as? String == unit }?["quantity"] as? String }
        let record = try XCTUnwrap(try server.environment.generations.store.get(try XCTUnwrap(UUID(uuidString: id)),
                                                                                claimsJSON: GenerationExecutor.claims(for: try userID())),
                                   file: file, line: line)
        let admitted = try XCTUnwrap(record.candidates.first?.inputTokens, "admission kept its count", file: file, line: line)
        XCTAssertGreaterThan(admitted, 0, file: file, line: line)
        XCTAssertEqual(quantity("input_token"), String(admitted), "input as admission counted it: \(lines)", file: file, line: line)
        let output = server.environment.tokenCounter.countTokens(sent, provider: provider.rawValue, model: model)
        XCTAssertEqual(generation["usage_counted_with"] as? String, output.countedWith, "our count, not the provider's: \(generation)",
                       file: file, line: line)
        XCTAssertEqual(quantity("output_token"), String(output.count), "the text sent, counted: \(lines)", file: file, line: line)
        let charged = try Money(parsing: try XCTUnwrap(generation["actual_cost_usd"] as? String, "\(generation)", file: file, line: line))
        XCTAssertGreaterThan(charged, .zero, file: file, line: line)
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.spent, charged, file: file, line: line)
        XCTAssertEqual(budget.reserved, .zero, file: file, line: line)
    }

    /// A provider whose stream breaks before any text (here an HTML page where its events should
    /// be) generated nothing the client got: nothing is charged, and the client gets a plain error.
    func testAStreamThatBreaksBeforeAnyTextIsChargedNothing() throws {
        let project = try project()
        let reader = try ChatStreamReader(port: server.port, token: token,
                                          body: ChatWireClient.body(content: "Nothing yet [fake:invalid_json]", stream: true, includeUsage: true),
                                          headers: ["X-Project-Id": project])
        XCTAssertEqual(reader.status, 502, String(decoding: reader.plainBody, as: UTF8.self))
        let listed = try server.get("/v1/generations?project_id=\(project)", token: token).json()["data"] as? [[String: Any]]
        let generation = try XCTUnwrap(listed?.first, "\(String(describing: listed))")
        XCTAssertEqual(generation["status"] as? String, "failed", "\(generation)")
        XCTAssertNil(generation["actual_cost_usd"], "\(generation)")
        XCTAssertNil(generation["usage_counted_with"], "\(generation)")
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.spent, .zero)
        XCTAssertEqual(budget.reserved, .zero)
    }

    /// Anthropic reports the input tokens (and its first output tokens) in `message_start`, before
    /// any text: a stream cut after it is charged that usage (priced as a completion's, `cost_status`
    /// `priced`) with its output tokens raised to those counted in the text the client got, since
    /// Anthropic billed what it generated; the generation is a charged failure, and the error says
    /// so with a status no client retries.
    func testAnAnthropicStreamCutAfterItReportedUsageIsChargedThatUsageAndTheTextSent() throws {
        let project = try project()
        let reader = try open(ChatWireClient.body(model: "claude-haiku-4-5", content: "Cut me off [fake:cut_off]", maxTokens: 64,
                                                  stream: true, includeUsage: true), project: project)
        let payloads = try reader.rest()
        XCTAssertFalse(payloads.contains("[DONE]"), "a failed stream does not end as if complete: \(payloads)")
        let sent = payloads.dropLast().compactMap { content((try? json($0)) ?? [:]) }.joined()
        XCTAssertFalse(sent.isEmpty, "text arrived before the cut: \(payloads)")
        let error = try XCTUnwrap(try json(try XCTUnwrap(payloads.last))["error"] as? [String: Any], "\(payloads)")
        XCTAssertEqual(error["code"] as? String, "network_error")
        XCTAssertEqual(error["type"] as? String, "invalid_request_error", "422, never a status OpenAI's SDKs retry: \(error)")
        XCTAssertTrue((error["message"] as? String ?? "").contains("USD was charged"), "\(error)")

        let generation = try generation(try XCTUnwrap(reader.headers["x-generation-id"]))
        XCTAssertEqual(generation["status"] as? String, "failed")
        XCTAssertEqual(generation["cost_status"] as? String, "priced", "\(generation)")
        let lines = try XCTUnwrap(generation["cost_lines"] as? [[String: Any]], "\(generation)")
        let output = lines.first { $0["unit"] as? String == "output_token" }?["quantity"] as? String
        let counted = server.environment.tokenCounter.countTokens(sent, provider: "anthropic", model: "claude-haiku-4-5")
        XCTAssertGreaterThan(counted.count, 1, "more text than message_start's single output token")
        XCTAssertEqual(output, String(counted.count), "the output tokens of the text sent: \(lines)")
        XCTAssertEqual(generation["usage_counted_with"] as? String, counted.countedWith, "\(generation)")
        let charged = try Money(parsing: try XCTUnwrap(generation["actual_cost_usd"] as? String, "\(generation)"))
        XCTAssertGreaterThan(charged, .zero, "the input tokens message_start reported")
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.spent, charged)
        XCTAssertEqual(budget.reserved, .zero)
    }

    func testAStreamRetriedWithItsIdempotencyKeyIsReplayedAndChargedOnce() throws {
        let project = try project()
        let before = try server.budget(of: project, token: token)
        let client = ChatWireClient(port: server.port, token: token)
        let body = ChatWireClient.body(content: "Once only", stream: true, includeUsage: true)
        let first = try client.stream(body, headers: ["X-Project-Id": project, "Idempotency-Key": "stream-once-1"])
        XCTAssertTrue(first.sawDone, first.raw)
        let again = try client.stream(body, headers: ["X-Project-Id": project, "Idempotency-Key": "stream-once-1"])
        XCTAssertTrue(again.sawDone, again.raw)
        XCTAssertEqual(again.headers["idempotent-replayed"], "true")
        XCTAssertEqual(again.content, first.content)
        XCTAssertEqual(again.headers["x-generation-id"], first.headers["x-generation-id"])
        let cost = try Money(parsing: try XCTUnwrap(first.usage?["cost_usd"] as? String))
        XCTAssertEqual(try server.settledBudget(of: project, token: token).spent - before.spent, cost, "charged once")
    }

    func testAProviderThatFailsBeforeItsFirstTokenIsAPlainHTTPErrorNotAStream() throws {
        let project = try project()
        let script = try HTTPTestConnection(port: fakePort).request(
            "POST", "/_fake/script", headers: ["Content-Type": "application/json"],
            body: Data(#"{"provider":"openai","behavior":"bad_request","times":3}"#.utf8))
        XCTAssertEqual(script.status, 201, script.text)
        let reader = try ChatStreamReader(port: server.port, token: token, body: ChatWireClient.body(stream: true),
                                          headers: ["X-Project-Id": project])
        XCTAssertEqual(reader.status, 502)
        XCTAssertEqual(reader.headers["content-type"], "application/json")
        let body = try XCTUnwrap(try JSONSerialization.jsonObject(with: reader.plainBody) as? [String: Any])
        XCTAssertNotNil((body["error"] as? [String: Any])?["code"] as? String, "OpenAI's envelope: \(body)")
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.spent, .zero)
        XCTAssertEqual(budget.reserved, .zero)
    }

    func testClientThatLeavesMidStreamCancelsTheGenerationAndTheProvidersChargeIsStillRecorded() throws {
        let project = try project()
        let before = try server.budget(of: project, token: token)
        let (_, charged) = try leaveMidStream(project: project, headers: [:])
        try assertCharged(charged, since: before, project: project, "the ledger holds exactly the recorded charge")
    }

    /// The cancel lands while the provider still streams: the key stays bound to the generation
    /// whose charge is still to come, so the retry replays it instead of running (and charging) again.
    func testARetryWithItsIdempotencyKeyAfterLeavingMidStreamIsReplayedNotChargedAgain() throws {
        let project = try project()
        let before = try server.budget(of: project, token: token)
        let headers = ["Idempotency-Key": "left-mid-stream-1"]
        let (id, charged) = try leaveMidStream(project: project, headers: headers)
        let retry = try ChatStreamReader(port: server.port, token: token, body: Self.leavingBody,
                                         headers: headers.merging(["X-Project-Id": project]) { $1 }, timeoutSeconds: 20)
        let body = String(decoding: retry.plainBody, as: UTF8.self)
        XCTAssertEqual(retry.status, 422, "a charged cancel is not a status clients retry: \(body)")
        XCTAssertEqual(retry.headers["idempotent-replayed"], "true", body)
        XCTAssertEqual(retry.headers["x-generation-id"], id, "the first generation's answer, not a new one")
        try assertCharged(charged, since: before, project: project, "charged once")
    }

    /// The server stops while an answer streams: the answer streams on through the shutdown grace,
    /// and one still open at its end gets an error event (`shutting_down`) and no `[DONE]`, never a
    /// clean end that a client would take for the whole answer.
    func testAStreamStillOpenWhenTheServerStopsEndsWithAnErrorEventNotACleanEnd() throws {
        let project = try project()
        let reader = try open(ChatWireClient.body(content: "Held until the server stops [fake:held]", maxTokens: 64, stream: true),
                              project: project)
        _ = try XCTUnwrap(try reader.nextData(), "role")
        _ = try XCTUnwrap(try reader.nextData(), "first delta")
        let server = self.server!
        let stopped = DispatchSemaphore(value: 0)
        let started = Date()
        Thread {
            server.stop(grace: 1)
            stopped.signal()
        }.start()
        let rest = try reader.rest()
        XCTAssertEqual(stopped.wait(timeout: .now() + 20), .success)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.9, "it streamed on through the grace")
        XCTAssertFalse(rest.contains("[DONE]"), "\(rest)")
        let last = try json(try XCTUnwrap(rest.last, "an event before the end"))
        XCTAssertEqual((last["error"] as? [String: Any])?["code"] as? String, "shutting_down", "\(last)")
        _ = try? HTTPTestConnection(port: fakePort).request("POST", "/_fake/release")
    }

    private static var leavingBody: [String: Any] { ChatWireClient.body(content: "Leave early please, this answer is long [fake:held:0.3]", maxTokens: 64,
                                                                            stream: true) }

    /// Opens a stream held after its first delta (then 0.3 s between events), leaves after that
    /// delta, and waits for the canceled generation's charge. Returns its id and the charge.
    private func leaveMidStream(project: String, headers: [String: String]) throws -> (id: String, charged: Money) {
        let reader = try ChatStreamReader(port: server.port, token: token, body: Self.leavingBody,
                                          headers: headers.merging(["X-Project-Id": project]) { $1 }, timeoutSeconds: 20)
        XCTAssertEqual(reader.status, 200, String(decoding: reader.plainBody, as: UTF8.self))
        let id = try XCTUnwrap(reader.headers["x-generation-id"])
        _ = try XCTUnwrap(try reader.nextData(), "role")
        _ = try XCTUnwrap(try reader.nextData(), "first delta")
        reader.disconnect()
        try releaseHeldStreams()
        // The next delta's write finds the client gone; the cancel lands while the provider still streams.
        let deadline = Date().addingTimeInterval(20)
        var body = try generation(id)
        while body["actual_cost_usd"] == nil || (body["status"] as? String) == "running", Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            body = try generation(id)
        }
        XCTAssertEqual(body["status"] as? String, "canceled", "\(body)")
        let charged = try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "the provider's charge is recorded: \(body)"))
        XCTAssertGreaterThan(charged, .zero)
        return (id, charged)
    }
}

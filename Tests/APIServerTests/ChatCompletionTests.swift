@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// `POST /v1/chat/completions` against `fake-providers` speaking OpenAI's wire format, read by a
/// client that speaks it too: the completion and stream shapes, the cost and generation headers
/// matching the ledger, OpenAI's error envelope, the budget refusal, retries with and without an
/// Idempotency-Key, and a burst of 200 against a budget that admits 10.
final class ChatCompletionTests: XCTestCase {
    private var fake: FakeProvidersProcess?
    private var fakePort: Int { fake?.port ?? 0 }
    private var server: TestServer!
    private var token = ""
    private var client: ChatWireClient!

    override func setUpWithError() throws {
        fake = try FakeProvidersProcess(arguments: [])
        let origin = "http://127.0.0.1:\(fakePort)"
        server = try TestServer(environment: ["OPENAI_BASE_URL": origin + "/openai/v1", "ANTHROPIC_BASE_URL": origin + "/anthropic",
                                              "OPENROUTER_BASE_URL": origin + "/openrouter/api/v1"])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("chat@example.com").accessToken
        let stored = try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)], token: token)
        XCTAssertEqual(stored.status, 201, stored.text)
        client = ChatWireClient(port: server.port, token: token)
    }

    override func tearDown() {
        server?.stop()
        fake?.stop()
    }

    private func project(limit: String? = nil) throws -> String {
        var body: [String: Any] = ["name": "Chat", "budget_period": "total"]
        if let limit { body["budget_limit"] = limit }
        return try XCTUnwrap(try server.createProject(body, token: token)["id"] as? String)
    }

    private func script(_ behavior: String, times: Int = 1) throws {
        let response = try HTTPTestConnection(port: fakePort).request(
            "POST", "/_fake/script", headers: ["Content-Type": "application/json"],
            body: try JSONSerialization.data(withJSONObject: ["provider": "openai", "behavior": behavior, "times": times]))
        XCTAssertEqual(response.status, 201, response.text)
    }

    func testCompletionHasOpenAIShapeAndItsCostHeaderIsTheLedgersChange() throws {
        let project = try project(limit: "5")
        let before = try server.budget(of: project, token: token)
        let answer = try client.complete(ChatWireClient.body(), headers: ["X-Project-Id": project])
        XCTAssertEqual(answer.status, 200, answer.text)
        XCTAssertEqual(answer.headers["content-type"], "application/json")
        XCTAssertEqual(answer.json["object"] as? String, "chat.completion")
        XCTAssertEqual(answer.json["model"] as? String, "gpt-4o-mini")
        XCTAssertFalse(try XCTUnwrap(answer.content).isEmpty, "an assistant message")
        let choice = try XCTUnwrap((answer.json["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual((choice["message"] as? [String: Any])?["role"] as? String, "assistant")
        XCTAssertEqual(choice["finish_reason"] as? String, "stop")
        let usage = try XCTUnwrap(answer.json["usage"] as? [String: Any])
        let prompt = try XCTUnwrap(usage["prompt_tokens"] as? Int), completion = try XCTUnwrap(usage["completion_tokens"] as? Int)
        XCTAssertGreaterThan(prompt, 0)
        XCTAssertEqual(usage["total_tokens"] as? Int, prompt + completion)
        let generation = try XCTUnwrap(answer.generationID)
        XCTAssertEqual(answer.json["id"] as? String, "chatcmpl-" + generation, "the completion id names its generation")
        let cost = try XCTUnwrap(answer.costHeader, "X-Cost-USD is an exact decimal")
        XCTAssertGreaterThan(cost, .zero)
        // Answered after settlement: the ledger has already moved, by exactly the header's amount.
        let after = try server.budget(of: project, token: token)
        XCTAssertEqual(after.spent - before.spent, cost)
        XCTAssertEqual(after.reserved, .zero)
        let stored = try server.get("/v1/generations/\(generation)", token: token).json()
        XCTAssertEqual(stored["actual_cost_usd"] as? String, answer.headers["x-cost-usd"])
        XCTAssertEqual(stored["status"] as? String, "succeeded")
    }

    func testACompletionIsFiledAsATextAssetOnlyWithStoreTrue() throws {
        let project = try project(limit: "5")
        func assets() throws -> [[String: Any]] {
            try XCTUnwrap(try server.get("/v1/assets?project_id=\(project)", token: token).json()["data"] as? [[String: Any]])
        }
        var plain = ChatWireClient.body()
        plain["store"] = false
        for body in [ChatWireClient.body(), plain] {
            let answer = try client.complete(body, headers: ["X-Project-Id": project])
            XCTAssertEqual(answer.status, 200, answer.text)
            let stored = try server.get("/v1/generations/\(try XCTUnwrap(answer.generationID))", token: token).json()
            XCTAssertEqual(stored["text"] as? String, answer.content, "the text stays on the generation")
            XCTAssertEqual((stored["outputs"] as? [Any])?.count, 0, "no asset without store: true")
        }
        XCTAssertEqual(try assets().count, 0)

        var kept = ChatWireClient.body()
        kept["store"] = true
        let answer = try client.complete(kept, headers: ["X-Project-Id": project])
        XCTAssertEqual(answer.status, 200, answer.text)
        let stored = try server.get("/v1/generations/\(try XCTUnwrap(answer.generationID))", token: token).json()
        let output = try XCTUnwrap((stored["outputs"] as? [[String: Any]])?.first, "store: true files the text")
        XCTAssertEqual(output["kind"] as? String, "text")
        let assetID = try XCTUnwrap(output["asset_id"] as? String)
        XCTAssertEqual(try assets().compactMap { $0["id"] as? String }, [assetID])
        let content = try server.get("/v1/assets/\(assetID)/content", token: token)
        XCTAssertEqual(content.text, answer.content)

        let streamed = try client.stream(ChatWireClient.body(stream: true).merging(["store": true]) { $1 }, headers: ["X-Project-Id": project])
        XCTAssertEqual(streamed.status, 200, streamed.raw)
        XCTAssertEqual(try assets().count, 2, "a streamed completion with store: true is filed too")
    }

    func testStreamWithoutUsageSendsTheAnswerAsChunksThenDone() throws {
        let project = try project(limit: "5")
        let whole = try client.complete(ChatWireClient.body(), headers: ["X-Project-Id": project])
        let stream = try client.stream(ChatWireClient.body(stream: true), headers: ["X-Project-Id": project])
        XCTAssertEqual(stream.status, 200, stream.raw)
        XCTAssertEqual(stream.headers["content-type"], "text/event-stream")
        XCTAssertNotNil(stream.headers["x-generation-id"])
        XCTAssertTrue(stream.sawDone, "ends with data: [DONE]")
        XCTAssertGreaterThanOrEqual(stream.chunks.count, 3, "role, content, finish")
        XCTAssertTrue(stream.chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
        XCTAssertTrue(stream.chunks.allSatisfy { $0["usage"] == nil }, "no usage without include_usage")
        XCTAssertEqual(stream.content, whole.content, "the deltas join to the same text as the non-streamed answer")
        let last = try XCTUnwrap((stream.chunks.last?["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(last["finish_reason"] as? String, "stop")
    }

    func testStreamWithIncludeUsageEndsWithAUsageChunkCarryingTheSettledCost() throws {
        let project = try project(limit: "5")
        let before = try server.budget(of: project, token: token)
        let stream = try client.stream(ChatWireClient.body(stream: true, includeUsage: true), headers: ["X-Project-Id": project])
        XCTAssertEqual(stream.status, 200, stream.raw)
        XCTAssertTrue(stream.sawDone)
        let final = try XCTUnwrap(stream.chunks.last)
        XCTAssertEqual((final["choices"] as? [Any])?.count, 0, "the usage chunk has no choices, as OpenAI sends it")
        let usage = try XCTUnwrap(stream.usage)
        XCTAssertGreaterThan(try XCTUnwrap(usage["completion_tokens"] as? Int), 0)
        let cost = try Money(parsing: try XCTUnwrap(usage["cost_usd"] as? String))
        XCTAssertEqual(try server.budget(of: project, token: token).spent - before.spent, cost)
        XCTAssertNil(stream.headers["x-cost-usd"], "a stream's headers leave before its cost is known: the usage chunk carries it")
    }

    func testUnknownModelIs404ModelNotFoundInOpenAIsEnvelope() throws {
        let answer = try client.complete(ChatWireClient.body(model: "gpt-nonexistent-9"))
        XCTAssertEqual(answer.status, 404, answer.text)
        XCTAssertEqual(answer.headers["content-type"], "application/json")
        XCTAssertEqual(answer.errorCode, "model_not_found")
        XCTAssertEqual((answer.json["error"] as? [String: Any])?["type"] as? String, "not_found_error")
        XCTAssertNotNil(answer.errorMessage)
        XCTAssertNotNil(answer.json["request_id"] as? String)
        let named = try client.complete(ChatWireClient.body(model: "anthropic/gpt-4o-mini"))
        XCTAssertEqual(named.status, 404, "provider/model names a model that provider does not offer: \(named.text)")
        // OpenRouter serves models it does not list (`vendor/model`), as /v1/generations routes them: such a
        // model is found, and refused as unpriced here (the project does not accept unpriced spend).
        XCTAssertEqual(try server.post("/v1/api-keys", ["provider": "openrouter", "label": "router", "key": ApiKeyTests.sampleKey(.openrouter)],
                                       token: token).status, 201)
        let unlisted = try client.complete(ChatWireClient.body(model: "openrouter/some-vendor/some-model"))
        XCTAssertEqual(unlisted.status, 422, unlisted.text)
        XCTAssertEqual(unlisted.errorCode, "unpriced")
    }

    func testProviderSlashModelRoutesToThatProvider() throws {
        let project = try project(limit: "5")
        let answer = try client.complete(ChatWireClient.body(model: "openai/gpt-4o-mini"), headers: ["X-Project-Id": project])
        XCTAssertEqual(answer.status, 200, answer.text)
        let generation = try server.get("/v1/generations/\(try XCTUnwrap(answer.generationID))", token: token).json()
        XCTAssertEqual(generation["provider"] as? String, "openai")
    }

    func testRequestErrorsUseOpenAIsEnvelopeWithOurCodes() throws {
        let unknown = try client.complete(ChatWireClient.body().merging(["tools": []]) { $1 })
        XCTAssertEqual(unknown.status, 422, unknown.text)
        XCTAssertEqual(unknown.errorCode, "unknown_field")
        XCTAssertEqual((unknown.json["error"] as? [String: Any])?["type"] as? String, "invalid_request_error")
        var noMessages = ChatWireClient.body()
        noMessages.removeValue(forKey: "messages")
        let missing = try client.complete(noMessages)
        XCTAssertEqual(missing.status, 422)
        XCTAssertEqual(missing.errorCode, "validation_failed")
        XCTAssertEqual((missing.json["error"] as? [String: Any])?["param"] as? String, "messages")
        let badJSON = try client.send(raw: Data("{\"model\":".utf8))
        XCTAssertEqual(badJSON.status, 400)
        XCTAssertEqual(try (JSONSerialization.jsonObject(with: badJSON.body) as? [String: Any]).flatMap { ($0["error"] as? [String: Any])?["code"] as? String },
                       "bad_json")
        let two = try client.complete(ChatWireClient.body().merging(["n": 2]) { $1 })
        XCTAssertEqual(two.status, 422)
        let anonymous = try HTTPTestConnection(port: server.port).request(
            "POST", "/v1/chat/completions", headers: ["Content-Type": "application/json"],
            body: try JSONSerialization.data(withJSONObject: ChatWireClient.body()))
        XCTAssertEqual(anonymous.status, 401)
        let envelope = try XCTUnwrap(try JSONSerialization.jsonObject(with: anonymous.body) as? [String: Any])
        XCTAssertEqual((envelope["error"] as? [String: Any])?["type"] as? String, "authentication_error")
        let text = try client.send(raw: Data("hello".utf8), headers: ["Content-Type": "text/plain"])
        XCTAssertEqual(text.status, 415)
        XCTAssertNotNil(try (JSONSerialization.jsonObject(with: text.body) as? [String: Any])?["error"])
        let gone = try server.signUp("chat-gone@example.com").accessToken
        XCTAssertEqual(try server.post("/auth/v1/logout", [:], token: gone).status, 204)
        let ended = try ChatWireClient(port: server.port, token: gone).complete(ChatWireClient.body())
        XCTAssertEqual(ended.status, 403, "a token whose session ended may not spend: \(ended.text)")
        XCTAssertEqual((ended.json["error"] as? [String: Any])?["type"] as? String, "permission_error")
        let strange = try client.complete(ChatWireClient.body(), headers: ["X-Project-Id": UUID().uuidString])
        XCTAssertEqual(strange.status, 404, "a project that is not the caller's: \(strange.text)")
        XCTAssertEqual(strange.errorCode, "not_found")
    }

    func testBudgetRefusalIs402BudgetExceededAndChargesNothing() throws {
        let project = try project(limit: "0.0000001")
        let answer = try client.complete(ChatWireClient.body(), headers: ["X-Project-Id": project])
        XCTAssertEqual(answer.status, 402, answer.text)
        XCTAssertEqual(answer.errorCode, "budget_exceeded")
        XCTAssertEqual((answer.json["error"] as? [String: Any])?["type"] as? String, "insufficient_quota")
        XCTAssertNil(answer.generationID)
        let stream = try client.stream(ChatWireClient.body(stream: true), headers: ["X-Project-Id": project])
        XCTAssertEqual(stream.status, 402, "a refusal before streaming is a plain HTTP error, not an in-stream one")
        XCTAssertEqual(stream.headers["content-type"], "application/json")
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, .zero)
        XCTAssertEqual(budget.reserved, .zero)
    }

    func testProviderFailureIsAnErrorAndChargesNothing() throws {
        let project = try project(limit: "5")
        try script("bad_request", times: 3)
        let answer = try client.complete(ChatWireClient.body(), headers: ["X-Project-Id": project])
        XCTAssertEqual(answer.status, 502, answer.text)
        XCTAssertNotNil(answer.errorCode)
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, .zero)
        XCTAssertEqual(budget.reserved, .zero)
    }

    /// A billed answer that leaves out its usage cannot be priced: it is charged the reserved
    /// estimate (`estimated`), never $0 as if priced, and the client is told that charge.
    func testAnAnswerWithoutItsUsageIsChargedTheEstimateNotZero() throws {
        let project = try project(limit: "5")
        try script("no_usage")
        let answer = try client.complete(ChatWireClient.body(maxTokens: 16), headers: ["X-Project-Id": project])
        XCTAssertEqual(answer.status, 200, answer.text)
        let stored = try server.get("/v1/generations/\(try XCTUnwrap(answer.generationID))", token: token).json()
        XCTAssertEqual(stored["cost_status"] as? String, "estimated", "\(stored)")
        let estimate = try Money(parsing: try XCTUnwrap(stored["estimate_usd"] as? String))
        XCTAssertGreaterThan(estimate, .zero)
        XCTAssertEqual(answer.costHeader, estimate)
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.spent, estimate)
        XCTAssertEqual(budget.reserved, .zero)
    }

    /// OpenAI bills a message's `name` as input: a conversation of named messages is reserved for them.
    func testMessageNamesAreCountedInTheReservation() throws {
        let project = try project(limit: "5")
        func estimate(named: Bool) throws -> Money {
            let messages: [[String: Any]] = (0..<40).map { index in
                var message: [String: Any] = ["role": "user", "content": "line \(index)"]
                if named { message["name"] = "participant_with_a_long_descriptive_name_\(index)" }
                return message
            }
            let answer = try client.complete(["model": "gpt-4o-mini", "messages": messages, "max_tokens": 1],
                                             headers: ["X-Project-Id": project])
            XCTAssertEqual(answer.status, 200, answer.text)
            let stored = try server.get("/v1/generations/\(try XCTUnwrap(answer.generationID))", token: token).json()
            return try Money(parsing: try XCTUnwrap(stored["estimate_usd"] as? String))
        }
        let plain = try estimate(named: false), named = try estimate(named: true)
        XCTAssertGreaterThan(named, plain * 2, "forty names of about ten tokens each, beside forty short lines")
    }

    func testWithoutAProjectTheDefaultProjectIsMadeOnceAndCharged() throws {
        let first = try client.complete(ChatWireClient.body())
        XCTAssertEqual(first.status, 200, first.text)
        let second = try client.complete(ChatWireClient.body())
        XCTAssertEqual(second.status, 200, second.text)
        let projects = try XCTUnwrap(try server.get("/v1/projects", token: token).json()["data"] as? [[String: Any]])
        XCTAssertEqual(projects.count, 1, "one default project, made on first use: \(projects)")
        let id = try XCTUnwrap(projects.first?["id"] as? String)
        XCTAssertEqual(projects.first?["name"] as? String, "Default")
        let costs = try XCTUnwrap(first.costHeader) + XCTUnwrap(second.costHeader)
        XCTAssertEqual(try server.budget(of: id, token: token).spent, costs)
        // Deleted, it is made again by the next request (the remembered id is not used blindly).
        XCTAssertEqual(try HTTPTestConnection(port: server.port).request("DELETE", "/v1/projects/\(id)",
                                                                        headers: ["Authorization": "Bearer \(token)"]).status, 204)
        let third = try client.complete(ChatWireClient.body())
        XCTAssertEqual(third.status, 200, third.text)
    }

    func testWithoutMaxTokensTheReservationIsTheModelsMaximumOutput() throws {
        let project = try project(limit: "5")
        let capped = try client.complete(ChatWireClient.body(maxTokens: 16), headers: ["X-Project-Id": project])
        let open = try client.complete(ChatWireClient.body(maxTokens: nil), headers: ["X-Project-Id": project])
        XCTAssertEqual(open.status, 200, open.text)
        let cappedEstimate = try server.get("/v1/generations/\(try XCTUnwrap(capped.generationID))", token: token).json()["estimate_usd"] as? String
        let openEstimate = try server.get("/v1/generations/\(try XCTUnwrap(open.generationID))", token: token).json()["estimate_usd"] as? String
        XCTAssertGreaterThan(try Money(parsing: try XCTUnwrap(openEstimate)), try Money(parsing: try XCTUnwrap(cappedEstimate)) * 100,
                             "the reservation covers the model's whole output (16,384 tokens for gpt-4o-mini), not 16")
    }

    func testRetryWithTheSameIdempotencyKeyIsChargedOnceAndAnsweredTheSame() throws {
        let project = try project(limit: "5")
        let headers = ["X-Project-Id": project, "Idempotency-Key": "chat-retry-1"]
        let first = try client.complete(ChatWireClient.body(), headers: headers)
        XCTAssertEqual(first.status, 200, first.text)
        let retry = try client.complete(ChatWireClient.body(), headers: headers)
        XCTAssertEqual(retry.status, 200, retry.text)
        XCTAssertEqual(retry.headers["idempotent-replayed"], "true")
        XCTAssertEqual(retry.generationID, first.generationID)
        XCTAssertEqual(retry.content, first.content)
        XCTAssertEqual(retry.headers["x-cost-usd"], first.headers["x-cost-usd"])
        XCTAssertEqual(try server.budget(of: project, token: token).spent, try XCTUnwrap(first.costHeader), "charged once")
        let other = try client.complete(ChatWireClient.body(content: "Something else."), headers: headers)
        XCTAssertEqual(other.status, 422)
        XCTAssertEqual(other.errorCode, "idempotency_key_reused")
        // Concurrent duplicates: one generation, one charge, the same answer for both.
        let key = ["X-Project-Id": project, "Idempotency-Key": "chat-retry-2"]
        let answers = Mutex2<[ChatWireClient.Completion]>([])
        let client: ChatWireClient = self.client
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            if let answer = try? client.complete(ChatWireClient.body(), headers: key) { answers.append(answer) }
        }
        XCTAssertEqual(answers.value.map(\.status), [200, 200])
        XCTAssertEqual(Set(answers.value.compactMap(\.generationID)).count, 1)
        XCTAssertEqual(try server.budget(of: project, token: token).spent,
                       try XCTUnwrap(first.costHeader) + XCTUnwrap(answers.value.first?.costHeader))
    }

    func testRetryWithoutAKeyIsANewCompletionChargedAgain() throws {
        let project = try project(limit: "5")
        let first = try client.complete(ChatWireClient.body(), headers: ["X-Project-Id": project])
        let second = try client.complete(ChatWireClient.body(), headers: ["X-Project-Id": project])
        XCTAssertEqual([first.status, second.status], [200, 200])
        XCTAssertNotEqual(first.generationID, second.generationID)
        XCTAssertEqual(try server.budget(of: project, token: token).spent, try XCTUnwrap(first.costHeader) + XCTUnwrap(second.costHeader))
    }

    func testBurstOf200AgainstABudgetForTenNeverOverspendsAndChargesExactlyTheAnswered() throws {
        // What one request reserves: the budget holds ten of those at once.
        let probe = try client.complete(ChatWireClient.body(), headers: ["X-Project-Id": try project(limit: "5")])
        let estimate = try Money(parsing: try XCTUnwrap(
            try server.get("/v1/generations/\(try XCTUnwrap(probe.generationID))", token: token).json()["estimate_usd"] as? String))
        let limit = estimate * 10
        let project = try project(limit: limit.jsonString)
        let answers = Mutex2<[ChatWireClient.Completion]>([])
        let failures = Mutex2<[String]>([])
        let client: ChatWireClient = self.client
        DispatchQueue.concurrentPerform(iterations: 200) { _ in
            do { answers.append(try client.complete(ChatWireClient.body(), headers: ["X-Project-Id": project])) } catch {
                failures.append(String(describing: error))
            }
        }
        XCTAssertEqual(failures.value, [], "every request was answered")
        let all = answers.value
        XCTAssertEqual(all.count, 200)
        let completed = all.filter { $0.status == 200 }
        let refused = all.filter { $0.status != 200 }
        XCTAssertGreaterThanOrEqual(completed.count, 10, "at least the ten the budget holds at once")
        XCTAssertEqual(Set(refused.map(\.status)), refused.isEmpty ? [] : [402], "only budget refusals, never 503 or 5xx: \(refused.filter { $0.status != 402 }.prefix(3).map(\.text))")
        let charged = try completed.reduce(Money.zero) { $0 + (try XCTUnwrap($1.costHeader)) }
        let budget = try server.budget(of: project, token: token)
        XCTAssertEqual(budget.spent, charged, "exactly the answered completions were charged")
        XCTAssertLessThanOrEqual(budget.spent, limit, "never overspent")
        XCTAssertEqual(budget.reserved, .zero)
    }
}

/// A lock around a value, for collecting answers from concurrent requests.
final class Mutex2<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}

extension Mutex2 {
    func append<Element>(_ element: Element) where Value == [Element] { mutate { $0.append(element) } }
}

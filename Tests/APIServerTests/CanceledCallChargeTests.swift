@testable import APIServer
import Domain
import Foundation
import Synchronization
import TestSupport
import XCTest

/// A generation canceled while its call was in flight, whose call then failed after the provider
/// reported usage (a chat stream cut after Anthropic's `message_start`, its client gone), is
/// charged that usage and stays canceled (migration 152). It was released as free: the failed
/// attempt's record cleared the in-flight mark that `finish_generation` charges a canceled
/// generation by.
final class CanceledCallChargeTests: XCTestCase {
    func testACanceledCallThatFailsAfterReportingUsageIsChargedThatUsage() async throws {
        let run = try CanceledCallRun(email: "canceled-call@example.com", prompt: "cut")
        defer { run.stop() }
        let call = HeldCall(try XCTUnwrap(run.base.provider(.openai)))
        let ended = try await run.cancelWhileInFlight(call)
        XCTAssertEqual(ended, .finished(.canceled))

        let body = try run.generation()
        XCTAssertEqual(body["status"] as? String, "canceled", "it stays canceled: \(body)")
        XCTAssertEqual(body["cost_status"] as? String, "priced", "\(body)")
        let charged = try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)"))
        XCTAssertGreaterThan(charged, .zero, "the 1,000 input tokens reported before the failure")
        let budget = try run.server.budget(of: run.project, token: run.token)
        XCTAssertEqual(budget.spent, charged)
        XCTAssertEqual(budget.reserved, .zero)
    }

    /// The same for a stream that reported no usage before it broke (OpenAI and OpenRouter report
    /// it only in their last chunk) but had sent text: the canceled generation is charged the input
    /// tokens as admission counted them and the output tokens counted in that text, recorded as
    /// our count (`usage_counted_with`), and stays canceled. It was released as free.
    func testACanceledStreamCutAfterTextWithoutUsageIsChargedTheTokensCountedHere() async throws {
        let run = try CanceledCallRun(email: "canceled-cut-stream@example.com", prompt: "cut the stream")
        defer { run.stop() }
        let admitted = try XCTUnwrap(run.record.candidates.first?.inputTokens, "admission kept its input count")
        let call = HeldCall(try XCTUnwrap(run.base.provider(.openai)), text: "Three short words", usage: nil)
        let ended = try await run.cancelWhileInFlight(call, streamed: true)
        XCTAssertEqual(ended, .finished(.canceled))

        let body = try run.generation()
        XCTAssertEqual(body["status"] as? String, "canceled", "it stays canceled: \(body)")
        XCTAssertEqual(body["cost_status"] as? String, "priced", "\(body)")
        let output = run.base.tokenCounter.countTokens("Three short words", provider: "openai", model: "gpt-4o-mini")
        XCTAssertEqual(body["usage_counted_with"] as? String, output.countedWith, "\(body)")
        let lines = try XCTUnwrap(body["cost_lines"] as? [[String: Any]])
        func quantity(_ unit: String) -> String? { lines.first { $0["unit"] as? String == unit }?["quantity"] as? String }
        XCTAssertEqual(quantity("input_token"), String(admitted), "\(lines)")
        XCTAssertEqual(quantity("output_token"), String(output.count), "\(lines)")
        let charged = try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)"))
        XCTAssertGreaterThan(charged, .zero)
        let budget = try run.server.budget(of: run.project, token: run.token)
        XCTAssertEqual(budget.spent, charged)
        XCTAssertEqual(budget.reserved, .zero)
    }
}

/// One user with an OpenAI key and a $5 project, and a text generation admitted for them, on a
/// server in front of fake-providers.
private final class CanceledCallRun {
    let user: EngineTestUser
    let record: GenerationRecord
    var server: TestServer { user.server }
    var token: String { user.token }
    var userID: UUID { user.userID }
    var project: String { user.project }
    var claims: String { user.claims }
    var base: GenerationRunner { server.environment.generations.executor.runner }

    init(email: String, prompt: String) throws {
        user = try EngineTestUser(email: email, provider: .openai, projectName: "Cut", budgetLimit: "5")
        record = try user.server.environment.generations.admission.admit(
            QuoteRequest(projectID: user.project, kind: .text, prompt: prompt, provider: .openai, maxOutputTokens: 50),
            settings: GenerationSettings(maxOutputTokens: 50), as: user.identity)
    }

    /// Runs the generation's step with `call` as its provider (`streamed`: a reader is registered,
    /// as for a chat stream), cancels it once the call is in flight (the client left: no provider
    /// cancel for a call), then lets the call fail; returns how the step ended.
    func cancelWhileInFlight(_ call: HeldCall, streamed: Bool = false) async throws -> GenerationRunner.Step {
        let base = base
        let streams = TextStreams()
        if streamed { streams.register(TextDeltaSink(delta: { _ in }, end: { _ in }), for: record.id) }
        let runner = GenerationRunner(store: base.store, ledger: base.ledger, blobs: base.blobs, gate: base.gate, provider: { _ in call },
                                      key: base.key, pricing: base.pricing, pollDeadlineSeconds: base.pollDeadlineSeconds,
                                      leaseSeconds: base.leaseSeconds, streams: streams, tokenCounter: base.tokenCounter)
        let (id, userID, claims) = (record.id, userID, claims)
        let step = Task { try await runner.step(id, userID: userID, claimsJSON: claims) }
        let deadline = Date().addingTimeInterval(10)
        while !call.entered.load(ordering: .acquiring), Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertTrue(call.entered.load(ordering: .acquiring), "the call is in flight")
        let (canceled, providerCancel) = try runner.cancel(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(canceled.status, .canceled)
        XCTAssertNil(providerCancel)
        call.release.store(true, ordering: .releasing)
        return try await step.value
    }

    func generation() throws -> [String: Any] {
        try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: token).json()
    }

    func stop() { user.stop() }
}

/// The real adapter, except that a submission (streamed: after sending `text`) waits until
/// released and then fails on the network after the provider reported `usage` (as a cut stream does).
private final class HeldCall: MediaProvider {
    let real: any MediaProvider
    let entered = Atomic<Bool>(false)
    let release = Atomic<Bool>(false)
    /// Streamed to the sink before the failure.
    let text: String
    /// Reported before the failure (nil: none, as OpenAI's stream until its last chunk).
    let usage: NormalisedUsage?

    init(_ real: any MediaProvider, text: String = "", usage: NormalisedUsage? = NormalisedUsage(inputTokens: 1000, outputTokens: 0)) {
        self.real = real
        self.text = text
        self.usage = usage
    }

    var id: ProviderID { real.id }
    func capabilities() -> ProviderCapabilities { real.capabilities() }
    func validateKey(_ key: ProviderAPIKey?) throws(ProviderError) -> KeyValidation { try real.validateKey(key) }
    func healthCheck(key: ProviderAPIKey?) -> ProviderHealth { real.healthCheck(key: key) }
    func poll(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult { try await real.poll(task, key: key) }
    func cancel(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> CancelOutcome { try await real.cancel(task, key: key) }
    func submitStreaming(_ request: GenerationRequest, key: ProviderAPIKey?, sink: TextDeltaSink) async throws(ProviderError) -> ProviderResult {
        if !text.isEmpty { sink.delta(text) }
        return try await submit(request, key: key)
    }

    func submit(_ request: GenerationRequest, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        entered.store(true, ordering: .releasing)
        while !release.load(ordering: .acquiring) { try? await Task.sleep(nanoseconds: 10_000_000) }
        var error = ProviderError(.network, provider: id, message: "transfer closed (after 12 characters of text)", retryOverride: false)
        error.usageBeforeFailure = usage
        throw error
    }
}

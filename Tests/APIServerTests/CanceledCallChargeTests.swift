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
        let fake = try FakeProvidersProcess()
        defer { fake.stop() }
        let server = try TestServer(environment: fake.baseURLs)
        defer { server.stop() }
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("canceled-call@example.com")
        let userID = try XCTUnwrap(UUID(uuidString: session.userID))
        XCTAssertEqual(try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)],
                                       token: session.accessToken).status, 201)
        let project = try XCTUnwrap(try server.createProject(["name": "Cut", "budget_period": "total", "budget_limit": "5"],
                                                             token: session.accessToken)["id"] as? String)
        let claims = GenerationExecutor.claims(for: userID)
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
        let engine = server.environment.generations
        let record = try engine.admission.admit(QuoteRequest(projectID: project, kind: .text, prompt: "cut", provider: .openai, maxOutputTokens: 50),
                                                settings: GenerationSettings(maxOutputTokens: 50), as: identity)
        let base = engine.executor.runner
        let real = try XCTUnwrap(base.provider(.openai))
        let call = HeldCall(real)
        let runner = GenerationRunner(store: base.store, ledger: base.ledger, blobs: base.blobs, gate: base.gate, provider: { _ in call },
                                      key: base.key, pricing: base.pricing, pollDeadlineSeconds: base.pollDeadlineSeconds,
                                      leaseSeconds: base.leaseSeconds)
        let step = Task { try await runner.step(record.id, userID: userID, claimsJSON: claims) }
        let deadline = Date().addingTimeInterval(10)
        while !call.entered.load(ordering: .acquiring), Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertTrue(call.entered.load(ordering: .acquiring), "the call is in flight")
        // The client leaves: canceled while the call is in flight (its reservation waits for the answer).
        let (canceled, providerCancel) = try runner.cancel(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(canceled.status, .canceled)
        XCTAssertNil(providerCancel)
        call.release.store(true, ordering: .releasing)
        let ended = try await step.value
        XCTAssertEqual(ended, .finished(.canceled))

        let body = try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: session.accessToken).json()
        XCTAssertEqual(body["status"] as? String, "canceled", "it stays canceled: \(body)")
        XCTAssertEqual(body["cost_status"] as? String, "priced", "\(body)")
        let charged = try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)"))
        XCTAssertGreaterThan(charged, .zero, "the 1,000 input tokens reported before the failure")
        let budget = try server.budget(of: project, token: session.accessToken)
        XCTAssertEqual(budget.spent, charged)
        XCTAssertEqual(budget.reserved, .zero)
    }

    /// The same for a stream that reported no usage before it broke (OpenAI and OpenRouter report
    /// it only in their last chunk) but had sent text: the canceled generation is charged the input
    /// tokens as admission counted them and the output tokens counted in that text, recorded as
    /// our count (`usage_counted_with`), and stays canceled. It was released as free.
    func testACanceledStreamCutAfterTextWithoutUsageIsChargedTheTokensCountedHere() async throws {
        let fake = try FakeProvidersProcess()
        defer { fake.stop() }
        let server = try TestServer(environment: fake.baseURLs)
        defer { server.stop() }
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("canceled-cut-stream@example.com")
        let userID = try XCTUnwrap(UUID(uuidString: session.userID))
        XCTAssertEqual(try server.post("/v1/api-keys", ["provider": "openai", "label": "main", "key": ApiKeyTests.sampleKey(.openai)],
                                       token: session.accessToken).status, 201)
        let project = try XCTUnwrap(try server.createProject(["name": "Cut", "budget_period": "total", "budget_limit": "5"],
                                                             token: session.accessToken)["id"] as? String)
        let claims = GenerationExecutor.claims(for: userID)
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
        let engine = server.environment.generations
        let record = try engine.admission.admit(QuoteRequest(projectID: project, kind: .text, prompt: "cut the stream", provider: .openai,
                                                             maxOutputTokens: 50),
                                                settings: GenerationSettings(maxOutputTokens: 50), as: identity)
        let admitted = try XCTUnwrap(record.candidates.first?.inputTokens, "admission kept its input count")
        let base = engine.executor.runner
        let call = HeldCall(try XCTUnwrap(base.provider(.openai)), text: "Three short words", usage: nil)
        let streams = TextStreams()
        streams.register(TextDeltaSink(delta: { _ in }, end: { _ in }), for: record.id)
        let runner = GenerationRunner(store: base.store, ledger: base.ledger, blobs: base.blobs, gate: base.gate, provider: { _ in call },
                                      key: base.key, pricing: base.pricing, pollDeadlineSeconds: base.pollDeadlineSeconds,
                                      leaseSeconds: base.leaseSeconds, streams: streams, tokenCounter: base.tokenCounter)
        let step = Task { try await runner.step(record.id, userID: userID, claimsJSON: claims) }
        let deadline = Date().addingTimeInterval(10)
        while !call.entered.load(ordering: .acquiring), Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertTrue(call.entered.load(ordering: .acquiring), "the call is in flight")
        let (canceled, providerCancel) = try runner.cancel(record.id, userID: userID, claimsJSON: claims)
        XCTAssertEqual(canceled.status, .canceled)
        XCTAssertNil(providerCancel)
        call.release.store(true, ordering: .releasing)
        let ended = try await step.value
        XCTAssertEqual(ended, .finished(.canceled))

        let body = try server.get("/v1/generations/\(record.id.uuidString.lowercased())", token: session.accessToken).json()
        XCTAssertEqual(body["status"] as? String, "canceled", "it stays canceled: \(body)")
        XCTAssertEqual(body["cost_status"] as? String, "priced", "\(body)")
        let output = base.tokenCounter.countTokens("Three short words", provider: "openai", model: "gpt-4o-mini")
        XCTAssertEqual(body["usage_counted_with"] as? String, output.countedWith, "\(body)")
        let lines = try XCTUnwrap(body["cost_lines"] as? [[String: Any]])
        func quantity(_ unit: String) -> String? { lines.first { $0["unit"] as? String == unit }?["quantity"] as? String }
        XCTAssertEqual(quantity("input_token"), String(admitted), "\(lines)")
        XCTAssertEqual(quantity("output_token"), String(output.count), "\(lines)")
        let charged = try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)"))
        XCTAssertGreaterThan(charged, .zero)
        let budget = try server.budget(of: project, token: session.accessToken)
        XCTAssertEqual(budget.spent, charged)
        XCTAssertEqual(budget.reserved, .zero)
    }
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

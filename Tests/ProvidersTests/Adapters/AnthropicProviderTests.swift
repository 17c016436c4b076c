import Domain
import Foundation
@testable import Providers
import TestSupport
import XCTest

final class AnthropicProviderTests: ProviderTestCase {
    var fake: FakeAnthropic!
    let key = ProviderAPIKey(TestKeys.anthropic)

    override func setUp() {
        super.setUp()
        fake = try! FakeAnthropic()
        _ = track(fake.server)
    }

    func provider(retry: RetryPolicy = RetryPolicy()) -> AnthropicProvider {
        AnthropicProvider(baseURL: fake.baseURL, context: makeContext(retry: retry))
    }

    func message(_ prompt: String) -> GenerationRequest {
        GenerationRequest(kind: .text, model: "claude-sonnet-4-5", prompt: prompt,
                          parameters: GenerationParameters(systemPrompt: "Be brief."), outputDirectory: outputDirectory)
    }

    func testMessageRequestShapeAndUsageKeepsCacheCountsApart() async throws {
        guard case let .finished(output) = try await provider().submit(message("Hi"), key: key) else { return XCTFail("not finished") }
        XCTAssertEqual(output.text, "Hello there!")
        XCTAssertEqual(output.finishReason, "end_turn")
        XCTAssertEqual(output.model, "claude-sonnet-4-5-20250929")
        XCTAssertEqual(output.providerRequestID, "req_msg_1")
        XCTAssertEqual(output.usage.inputTokens, 12)
        XCTAssertEqual(output.usage.cachedInputReadTokens, 2000)
        XCTAssertEqual(output.usage.cachedInputWriteTokens, 70)
        XCTAssertEqual(output.usage.cachedInputWriteOneHourTokens, 30)
        XCTAssertEqual(output.usage.outputTokens, 6)
        XCTAssertEqual(output.rateLimits, ["anthropic-ratelimit-requests-remaining": "49"])
        let sent = try XCTUnwrap(fake.server.requests.first)
        XCTAssertEqual(sent.header("x-api-key"), TestKeys.anthropic)
        XCTAssertEqual(sent.header("anthropic-version"), "2023-06-01")
        XCTAssertNil(sent.header("authorization"))
        XCTAssertEqual(sent.bodyText,
                       #"{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}"#)
    }

    func testCountTokensSendsNoMaxTokens() throws {
        XCTAssertEqual(try provider().countInputTokens(message("Hi"), key: key), 2095)
        XCTAssertEqual(fake.server.requests.first?.path, "/v1/messages/count_tokens")
    }

    func testRefusalStopIsFinishedWithANote() async throws {
        guard case let .finished(output) = try await provider().submit(message(Magic.refuse), key: key) else { return XCTFail() }
        XCTAssertEqual(output.finishReason, "refusal")
        XCTAssertEqual(output.notes, ["content_refused"])
    }

    func testOverloaded529IsRetriedThenReportedAsProviderDown() async throws {
        let failure = await expectProviderError { () async throws(ProviderError) in try await provider().submit(message(Magic.overloaded), key: key) }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .providerDown)
        XCTAssertEqual(error.httpStatus, 529)
        XCTAssertEqual(error.providerCode, "overloaded_error")
        XCTAssertEqual(error.providerRequestID, "req_011CSHoEeqs5C35K2UUqR7Fy")
        XCTAssertEqual(fake.server.requests.count, 3)
    }

    func testRateLimitHonoursRetryAfterSeconds() async throws {
        guard case .finished = try await provider().submit(message(Magic.rateLimited), key: key) else { return XCTFail() }
        XCTAssertEqual(sleeps.recorded, [2])
    }

    func testCreditBalanceTooLowIsQuotaExhausted() async throws {
        let failure = await expectProviderError { () async throws(ProviderError) in try await provider().submit(message(Magic.quota), key: key) }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .quotaExhausted)
        XCTAssertEqual(fake.server.requests.count, 1)
    }

    func testApiErrorIsRetryable() async throws {
        let error = await expectProviderError { () async throws(ProviderError) in
            try await provider(retry: RetryPolicy(maxAttempts: 2)).submit(message(Magic.serverError), key: key)
        }
        XCTAssertEqual(error?.kind, .providerDown)
        XCTAssertEqual(fake.server.requests.count, 2)
    }

    func testInvalidKeyAndValidation() throws {
        let error = expectProviderError { () throws(ProviderError) in try provider().validateKey(ProviderAPIKey(TestKeys.wrong)) }
        XCTAssertEqual(error?.kind, .invalidKey)
        XCTAssertEqual(error?.providerCode, "authentication_error")
        XCTAssertEqual(try provider().validateKey(key).checkedWith, "GET /v1/models")
        XCTAssertEqual(provider().healthCheck(key: nil).status, .up)
    }
}

import Domain
import Foundation
@testable import Providers
import TestSupport
import XCTest

final class OpenRouterProviderTests: ProviderTestCase {
    var fake: FakeOpenRouter!
    let key = ProviderAPIKey(TestKeys.openRouter)

    override func setUp() {
        super.setUp()
        fake = try! FakeOpenRouter()
        _ = track(fake.server)
    }

    var provider: OpenRouterProvider { OpenRouterProvider(baseURL: fake.baseURL, context: makeContext()) }

    func chat(_ prompt: String, model: String = "openai/gpt-4o-mini") -> GenerationRequest {
        GenerationRequest(kind: .text, model: model, prompt: prompt, parameters: GenerationParameters(maxOutputTokens: 50),
                          outputDirectory: outputDirectory)
    }

    func testCostIsExactDecimalFromTheJSONText() async throws {
        guard case let .finished(output) = try await provider.submit(chat("Hi"), key: key) else { return XCTFail() }
        XCTAssertEqual(output.usage.providerReportedCostUSD, Decimal(string: "0.0000047"))
        XCTAssertEqual(output.usage.inputTokens, 10)
        XCTAssertEqual(output.usage.cachedInputReadTokens, 4)
        XCTAssertEqual(output.usage.cachedInputWriteTokens, 5)
        XCTAssertEqual(output.usage.outputTokens, 3)
        XCTAssertEqual(output.providerRequestID, "gen-1732000000-AbCdEf")
        XCTAssertEqual(output.notes, ["routed_to:OpenAI"])
        let sent = try XCTUnwrap(fake.server.requests.first)
        XCTAssertEqual(sent.path, "/api/v1/chat/completions")
        XCTAssertEqual(sent.json?["max_tokens"]?.int, 50)
    }

    func testUnlistedVendorModelIsAccepted() async throws {
        guard case .finished = try await provider.submit(chat("Hi", model: "mistralai/mistral-large:nitro"), key: key) else { return XCTFail() }
        XCTAssertEqual(fake.server.requests.first?.json?["model"]?.string, "mistralai/mistral-large:nitro")
        let kind = await expectProviderError { () async throws(ProviderError) in try await provider.submit(chat("Hi", model: "gpt-4o"), key: key) }?.kind
        XCTAssertEqual(kind, .unsupported)
    }

    func testKeyInfoIsTheValidation() throws {
        let validation = try provider.validateKey(key)
        XCTAssertEqual(validation.checkedWith, "GET /api/v1/key")
        XCTAssertEqual(validation.account?.unit, "usd")
        XCTAssertEqual(validation.account?.limit, 100)
        XCTAssertEqual(validation.account?.remaining, Decimal(string: "74.5"))
        XCTAssertEqual(validation.account?.used, Decimal(string: "25.5"))
        XCTAssertEqual(validation.account?.label, "[redacted]", "a key-shaped label is masked")
        XCTAssertEqual(expectProviderError { () throws(ProviderError) in
            try provider.validateKey(ProviderAPIKey(TestKeys.wrong))
        }?.kind, .invalidKey)
    }

    func testErrorMapping() async throws {
        let quota = await expectProviderError { () async throws(ProviderError) in try await provider.submit(chat(Magic.quota), key: key) }
        XCTAssertEqual(quota?.kind, .quotaExhausted)
        XCTAssertEqual(quota?.isRetryable, false)
        let refused = await expectProviderError { () async throws(ProviderError) in try await provider.submit(chat(Magic.refuse), key: key) }
        XCTAssertEqual(refused?.kind, .contentRefused)
        XCTAssertEqual(fake.server.requests.count, 2, "402 and 403 are not retried")
        fake.server.clearRequests()
        let down = await expectProviderError { () async throws(ProviderError) in try await provider.submit(chat(Magic.serverError), key: key) }
        XCTAssertEqual(down?.kind, .providerDown)
        XCTAssertEqual(fake.server.requests.count, 3)
    }

    func testErrorInsideA200IsAnError() async throws {
        let error = await expectProviderError { () async throws(ProviderError) in
            try await OpenRouterProvider(baseURL: fake.baseURL, context: makeContext(retry: .none)).submit(chat(Magic.fail), key: key)
        }
        XCTAssertEqual(error?.kind, .providerDown)
        XCTAssertEqual(error?.httpStatus, 502)
    }

    func testHealthUsesTheUnauthenticatedModelList() {
        XCTAssertEqual(provider.healthCheck(key: nil).status, .up)
        XCTAssertEqual(fake.server.requests.first?.path, "/api/v1/models")
    }
}

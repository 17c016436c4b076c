import Domain
import Foundation
@testable import Providers
import TestSupport
import XCTest

/// Speech is billed when the provider receives it, so a speech call is sent again only when it
/// certainly never arrived: a 5xx, a 429 or a timeout leaves exactly one request at the provider.
final class SpeechRetryTests: ProviderTestCase {
    /// A provider that answers every speech request the same way, counting them.
    func speechServer(_ answer: FakeHTTPServer.Response) throws -> FakeHTTPServer {
        track(try FakeHTTPServer { _ in answer })
    }

    func openAISpeech(_ baseURL: String, timeout: Double = 3) -> ProviderResultAttempt {
        let provider = OpenAIProvider(baseURL: baseURL, context: makeContext(client: makeClient(timeout: timeout)))
        let request = GenerationRequest(kind: .audio, model: "tts-1", prompt: "Hello world",
                                        parameters: GenerationParameters(voice: "nova", outputFormat: "mp3"),
                                        outputDirectory: outputDirectory)
        return { () async throws(ProviderError) in try await provider.submit(request, key: ProviderAPIKey(TestKeys.openAI)) }
    }

    func elevenLabsSpeech(_ baseURL: String, timeout: Double = 3) -> ProviderResultAttempt {
        let provider = ElevenLabsProvider(baseURL: baseURL, context: makeContext(client: makeClient(timeout: timeout)))
        let request = GenerationRequest(kind: .audio, model: "eleven_multilingual_v2", prompt: "Hello world",
                                        parameters: GenerationParameters(voice: "21m00Tcm4TlvDq8ikWAM"),
                                        outputDirectory: outputDirectory)
        return { () async throws(ProviderError) in try await provider.submit(request, key: ProviderAPIKey(TestKeys.elevenLabs)) }
    }

    func testOpenAISpeechIsSentOnceOnAServerError() async throws {
        let server = try speechServer(.json(500, #"{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#))
        let error = await expectProviderError(openAISpeech(server.baseURL + "/v1"))
        XCTAssertEqual(error?.kind, .providerDown)
        XCTAssertEqual(server.requests.count, 1, "a speech request that reached OpenAI must not be sent again")
        XCTAssertEqual(sleeps.recorded, [])
    }

    func testOpenAISpeechIsSentOnceOnATimeout() async throws {
        let server = try speechServer(FakeHTTPServer.Response(status: 200, delay: 2))
        let error = await expectProviderError(openAISpeech(server.baseURL + "/v1", timeout: 0.4))
        XCTAssertEqual(error?.kind, .timeout)
        XCTAssertEqual(server.requests.count, 1)
    }

    func testElevenLabsSpeechIsSentOnceOnAServerErrorARateLimitAndATimeout() async throws {
        let failing = try speechServer(.json(500, #"{"detail":{"status":"internal_error","message":"Internal error"}}"#))
        let failure = await expectProviderError(elevenLabsSpeech(failing.baseURL))
        XCTAssertEqual(failure?.kind, .providerDown)
        XCTAssertEqual(failing.requests.count, 1)

        let busy = try speechServer(.json(429, #"{"detail":{"status":"system_busy","message":"Heavy traffic"}}"#))
        let limited = await expectProviderError(elevenLabsSpeech(busy.baseURL))
        XCTAssertEqual(limited?.code, "rate_limited")
        XCTAssertEqual(busy.requests.count, 1)

        let slow = try speechServer(FakeHTTPServer.Response(status: 200, delay: 2))
        let timedOut = await expectProviderError(elevenLabsSpeech(slow.baseURL, timeout: 0.4))
        XCTAssertEqual(timedOut?.kind, .timeout)
        XCTAssertEqual(slow.requests.count, 1)
        XCTAssertEqual(sleeps.recorded, [])
    }

    /// A refused connection proves nothing was sent, so that one is still retried.
    func testSpeechIsRetriedWhenTheConnectionIsRefused() async throws {
        let closedPort = try freeLoopbackPort()
        let error = await expectProviderError(openAISpeech("http://127.0.0.1:\(closedPort)/v1"))
        XCTAssertEqual(error?.kind, .network)
        XCTAssertEqual(sleeps.recorded.count, RetryPolicy().maxAttempts - 1, "both retries were attempted")
    }

    /// Chat stays as it was: a 500 answer is retried (the SDKs do the same).
    func testNonSpeechCallsKeepTheirRetries() async throws {
        let server = try speechServer(.json(500, #"{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#))
        let provider = OpenAIProvider(baseURL: server.baseURL + "/v1", context: makeContext())
        let chat = GenerationRequest(kind: .text, model: "gpt-4o-mini", prompt: "Hi", outputDirectory: outputDirectory)
        _ = await expectProviderError { () async throws(ProviderError) in try await provider.submit(chat, key: ProviderAPIKey(TestKeys.openAI)) }
        XCTAssertEqual(server.requests.count, RetryPolicy().maxAttempts)
    }
}

typealias ProviderResultAttempt = () async throws(ProviderError) -> ProviderResult

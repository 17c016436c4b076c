import Domain
import Foundation
@testable import Providers
import TestSupport
import XCTest

final class OpenAIProviderTests: ProviderTestCase {
    var fake: FakeOpenAI!
    let key = ProviderAPIKey(TestKeys.openAI)

    override func setUp() {
        super.setUp()
        fake = try! FakeOpenAI()
        _ = track(fake.server)
    }

    func provider(retry: RetryPolicy = RetryPolicy(), timeout: Double = 3) -> OpenAIProvider {
        OpenAIProvider(baseURL: fake.baseURL, context: makeContext(client: makeClient(timeout: timeout), retry: retry))
    }

    func chat(_ prompt: String, model: String = "gpt-4o-mini") -> GenerationRequest {
        GenerationRequest(kind: .text, model: model, prompt: prompt,
                          parameters: GenerationParameters(systemPrompt: "Be brief.", maxOutputTokens: 200,
                                                           temperature: Decimal(string: "0.7")),
                          outputDirectory: outputDirectory)
    }

    func finished(_ result: ProviderResult) throws -> GenerationOutput {
        guard case let .finished(output) = result else { throw TestSupportError("expected a finished result") }
        return output
    }

    func testChatRequestShapeAndUsageWithCachedTokensSplitOut() async throws {
        let output = try await finished(try provider().submit(chat("Hi"), key: key))
        XCTAssertEqual(output.text, "Hello!")
        XCTAssertEqual(output.model, "gpt-4o-mini-2024-07-18")
        XCTAssertEqual(output.finishReason, "stop")
        XCTAssertEqual(output.providerRequestID, "req_chat_1")
        XCTAssertEqual(output.usage.inputTokens, 1900 - 1024)
        XCTAssertEqual(output.usage.cachedInputReadTokens, 1024)
        XCTAssertEqual(output.usage.outputTokens, 300)
        XCTAssertEqual(output.usage.reasoningTokens, 120)
        XCTAssertEqual(output.usage.totalInputTokens, 1900)
        XCTAssertEqual(output.rateLimits, ["x-ratelimit-remaining-requests": "9999"])

        let sent = try XCTUnwrap(fake.server.requests.first)
        XCTAssertEqual(sent.method, "POST")
        XCTAssertEqual(sent.path, "/v1/chat/completions")
        XCTAssertEqual(sent.header("authorization"), "Bearer \(TestKeys.openAI)")
        XCTAssertEqual(sent.header("content-type"), "application/json")
        XCTAssertEqual(sent.bodyText,
                       #"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_completion_tokens":200,"temperature":0.7}"#)
    }

    func testRefusalIsFinishedAndBilledNotThrown() async throws {
        let output = try await finished(try provider().submit(chat("\(Magic.refuse) please"), key: key))
        XCTAssertEqual(output.finishReason, "refusal")
        XCTAssertEqual(output.notes, ["content_refused"])
        XCTAssertEqual(output.usage.outputTokens, 5)
    }

    func testImagesAreDecodedToFilesWithUsage() async throws {
        let request = GenerationRequest(kind: .image, model: "gpt-image-1", prompt: "a cat",
                                        parameters: GenerationParameters(size: "1024x1536", quality: "medium", count: 2),
                                        outputDirectory: outputDirectory)
        let output = try await finished(try provider().submit(request, key: key))
        XCTAssertEqual(output.files.count, 2)
        for file in output.files {
            XCTAssertEqual(file.mimeType, "image/png")
            XCTAssertEqual(Array(fileBytes(file.path).prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            XCTAssertEqual(file.width, 1024)
            XCTAssertEqual(file.height, 1536)
        }
        XCTAssertEqual(output.usage.images, 2)
        XCTAssertEqual(output.usage.imageSize, "1024x1536")
        XCTAssertEqual(output.usage.imageQuality, "medium")
        XCTAssertEqual(output.usage.inputTokens, 50)
        XCTAssertEqual(output.usage.imageInputTokens, 0)
        XCTAssertEqual(output.usage.outputTokens, 0)
        XCTAssertEqual(output.usage.imageOutputTokens, 2112)
        let body = try XCTUnwrap(fake.server.requests.first?.json)
        XCTAssertEqual(body["n"]?.int, 2)
        XCTAssertEqual(body["size"]?.string, "1024x1536")
        XCTAssertEqual(body["quality"]?.string, "medium")
        XCTAssertNil(body["response_format"], "gpt-image rejects response_format")
    }

    func testSpeechStreamsAudioToAFileAndCountsCharacters() async throws {
        let request = GenerationRequest(kind: .audio, model: "tts-1", prompt: "Hello world",
                                        parameters: GenerationParameters(voice: "nova", outputFormat: "mp3"),
                                        outputDirectory: outputDirectory)
        let output = try await finished(try provider().submit(request, key: key))
        let file = try XCTUnwrap(output.files.first)
        XCTAssertEqual(file.mimeType, "audio/mpeg")
        XCTAssertEqual(Data(fileBytes(file.path)), FakeAssets.mp3)
        XCTAssertEqual(file.byteCount, Int64(FakeAssets.mp3.count))
        XCTAssertEqual(output.usage.characters, 11)
        XCTAssertEqual(fake.server.requests.first?.bodyText,
                       #"{"model":"tts-1","input":"Hello world","voice":"nova","response_format":"mp3"}"#)
    }

    /// An empty Content-Type (or one of parameters only) split into nothing, and indexing its first
    /// part trapped: the speech's type is then the requested format's.
    func testSpeechWithAnEmptyContentTypeIsTypedByItsFormat() async throws {
        for contentType in ["", ";", " ; charset=binary"] {
            let odd = try FakeHTTPServer { _ in .bytes(200, FakeAssets.mp3, contentType: contentType) }
            _ = track(odd)
            let speech = OpenAIProvider(baseURL: odd.baseURL + "/v1", context: makeContext())
            let request = GenerationRequest(kind: .audio, model: "tts-1", prompt: "Hi", parameters: GenerationParameters(outputFormat: "mp3"),
                                            outputDirectory: outputDirectory)
            let output = try await finished(try speech.submit(request, key: key))
            XCTAssertEqual(output.files.first?.mimeType, "audio/mpeg", "Content-Type: \(contentType)")
        }
    }

    func testInvalidKeyIsNotRetriedAndTheEchoedKeyIsScrubbed() async throws {
        let failure = await expectProviderError { () async throws(ProviderError) in
            try await provider().submit(chat("Hi"), key: ProviderAPIKey(TestKeys.wrong))
        }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .invalidKey)
        XCTAssertEqual(error.providerCode, "invalid_api_key")
        XCTAssertFalse(error.isRetryable)
        XCTAssertFalse(error.message.contains(TestKeys.wrong))
        XCTAssertTrue(error.message.contains("Incorrect API key provided"))
        XCTAssertEqual(fake.server.requests.count, 1)
        XCTAssertTrue(sleeps.recorded.isEmpty)
    }

    func testInsufficientQuotaIsNotRetried() async throws {
        let failure = await expectProviderError { () async throws(ProviderError) in try await provider().submit(chat(Magic.quota), key: key) }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .quotaExhausted)
        XCTAssertFalse(error.isRetryable)
        XCTAssertEqual(fake.server.requests.count, 1)
    }

    func testRateLimitWaitsForRetryAfterMsThenSucceeds() async throws {
        let output = try await finished(try provider().submit(chat(Magic.rateLimited), key: key))
        XCTAssertEqual(output.text, "Hello!")
        XCTAssertEqual(sleeps.recorded, [1.2])
        XCTAssertEqual(fake.server.requests.count, 2)
        XCTAssertEqual(logs.events("provider.http.retry").count, 1)
    }

    func testRateLimitLongerThanTheCapIsReturnedNotSatOut() async throws {
        let failure = await expectProviderError { () async throws(ProviderError) in
            try await provider().submit(chat(Magic.rateLimitedLong), key: key)
        }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .rateLimited(retryAfter: 120))
        XCTAssertTrue(error.isRetryable, "another provider may take it")
        XCTAssertEqual(fake.server.requests.count, 1)
        XCTAssertTrue(sleeps.recorded.isEmpty)
    }

    func testServerErrorsRetryWithJitteredExponentialBackoffThenGiveUp() async throws {
        let failure = await expectProviderError { () async throws(ProviderError) in
            try await provider().submit(chat(Magic.serverError), key: key)
        }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .providerDown)
        XCTAssertEqual(error.httpStatus, 500)
        XCTAssertEqual(fake.server.requests.count, 3)
        // 0.5 s then 1 s, each less 25 % × the injected random 0.5.
        XCTAssertEqual(sleeps.recorded, [0.4375, 0.875])
    }

    func testServerErrorOnceThenSuccess() async throws {
        let output = try await finished(try provider().submit(chat(Magic.serverErrorOnce), key: key))
        XCTAssertEqual(output.text, "Hello!")
        XCTAssertEqual(fake.server.requests.count, 2)
    }

    func testOverloaded503IsRetryable() async throws {
        let failure = await expectProviderError { () async throws(ProviderError) in
            try await provider(retry: RetryPolicy(maxAttempts: 2)).submit(chat(Magic.overloaded), key: key)
        }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .providerDown)
        XCTAssertEqual(fake.server.requests.count, 2)
    }

    func testBadRequestIsNotRetried() async throws {
        let failure = await expectProviderError { () async throws(ProviderError) in
            try await provider().submit(chat(Magic.badRequest), key: key)
        }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .badRequest)
        XCTAssertEqual(error.providerCode, "context_length_exceeded")
        XCTAssertEqual(error.providerRequestID, "req_err_400")
        XCTAssertEqual(fake.server.requests.count, 1)
    }

    func testModerationBlockedImageIsAContentRefusal() async throws {
        let request = GenerationRequest(kind: .image, model: "gpt-image-1", prompt: Magic.refuse, outputDirectory: outputDirectory)
        let failure = await expectProviderError { () async throws(ProviderError) in try await provider().submit(request, key: key) }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .contentRefused)
        XCTAssertEqual(error.providerCode, "moderation_blocked")
    }

    /// The chat was sent whole and its answer never came: OpenAI may have run and billed it, so it
    /// is not sent again (each repeat could be billed too), and the error says so.
    func testATimedOutChatIsNotSentAgainAndMayHaveBeenBilled() async throws {
        let failure = await expectProviderError { () async throws(ProviderError) in
            try await provider(retry: RetryPolicy(maxAttempts: 3), timeout: 0.3).submit(chat(Magic.slow), key: key)
        }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .timeout)
        XCTAssertTrue(error.mayHaveBeenBilled)
        XCTAssertEqual(fake.server.requests.count, 1)
    }

    func testOversizedResponseIsRefused() async throws {
        let failure = await expectProviderError { () async throws(ProviderError) in
            try await provider().submit(chat(Magic.huge), key: key)
        }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .responseTooLarge)
        XCTAssertEqual(fake.server.requests.count, 1, "a too-large answer is not asked for again")
    }

    func testAConnectionDroppedAfterTheChatArrivedIsNotSentAgain() async throws {
        let failure = await expectProviderError { () async throws(ProviderError) in
            try await provider().submit(chat(Magic.close), key: key)
        }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .network)
        XCTAssertTrue(error.mayHaveBeenBilled)
        XCTAssertEqual(fake.server.requests.count, 1)
    }

    /// A request that never left (nothing listens) cannot have been billed: it is tried again.
    func testAChatThatCouldNotConnectIsRetriedAndWasNotBilled() async throws {
        let closed = try FakeHTTPServer { _ in .json(200, "{}") }
        let url = closed.baseURL + "/v1"
        closed.stop()
        let offline = OpenAIProvider(baseURL: url, context: makeContext(client: makeClient(timeout: 3), retry: RetryPolicy(maxAttempts: 2)))
        let failure = await expectProviderError { () async throws(ProviderError) in try await offline.submit(chat("Hi"), key: key) }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .network)
        XCTAssertFalse(error.mayHaveBeenBilled)
    }

    func testMalformedJSONIsReported() async throws {
        let failure = await expectProviderError { () async throws(ProviderError) in
            try await provider().submit(chat(Magic.badJSON), key: key)
        }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.kind, .malformedResponse)
    }

    func testRequestsAreValidatedBeforeAnythingIsSent() async throws {
        let unknown = GenerationRequest(kind: .image, model: "dall-e-3", prompt: "cat", outputDirectory: outputDirectory)
        let kind = await expectProviderError { () async throws(ProviderError) in try await provider().submit(unknown, key: key) }?.kind
        XCTAssertEqual(kind, .unsupported)
        let badSize = GenerationRequest(kind: .image, model: "gpt-image-1", prompt: "cat",
                                        parameters: GenerationParameters(size: "1792x1024"), outputDirectory: outputDirectory)
        let error = await expectProviderError { () async throws(ProviderError) in try await provider().submit(badSize, key: key) }
        XCTAssertEqual(error?.kind, .badRequest)
        XCTAssertTrue(error?.message.contains("size") ?? false)
        let reasoningTemperature = chat("Hi", model: "gpt-5")
        let temperatureKind = await expectProviderError { () async throws(ProviderError) in
            try await provider().submit(reasoningTemperature, key: key)
        }?.kind
        XCTAssertEqual(temperatureKind, .badRequest)
        let keylessKind = await expectProviderError { () async throws(ProviderError) in try await provider().submit(chat("Hi"), key: nil) }?.kind
        XCTAssertEqual(keylessKind, .invalidKey)
        XCTAssertTrue(fake.server.requests.isEmpty)
    }

    func testValidateKeyAndHealth() throws {
        let validation = try provider().validateKey(key)
        XCTAssertEqual(validation.checkedWith, "GET /v1/models")
        XCTAssertEqual(expectProviderError { () throws(ProviderError) in
            try provider().validateKey(ProviderAPIKey(TestKeys.wrong))
        }?.kind, .invalidKey)
        XCTAssertEqual(provider().healthCheck(key: nil).status, .up, "a 401 still proves the API answers")
        let port = try freeLoopbackPort()
        let down = OpenAIProvider(baseURL: "http://127.0.0.1:\(port)/v1", context: makeContext())
        XCTAssertEqual(down.healthCheck(key: key).status, .down)
    }
}

import Domain
import Foundation
import Providers
import TestSupport
import XCTest

/// The built `fake-providers` executable, driven by the real adapters: every provider's success
/// with its usage, every error behaviour mapped to its `ProviderError`, retry-after honoured,
/// timeouts, broken bodies, the async state machines to completion and cancel, and the fake's own
/// counters and recorded requests (README "Fake providers").
final class FakeProvidersExecutableTests: ProviderTestCase {
    private var fake: ChildProcess?
    private var port = 0
    private var origin: String { "http://127.0.0.1:\(port)" }

    private static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fake-providers").path
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw TestSupportError("\(Self.binary) is missing: build it with `swift build` (product fake-providers)")
        }
        let child = try ChildProcess(Self.binary, ["--port", "0", "--slow-seconds", "5"])
        fake = child
        let deadline = Date().addingTimeInterval(10)
        while port == 0 && Date() < deadline {
            if let line = child.output.split(separator: "\n").first, line.hasPrefix("listening 127.0.0.1:"),
               let number = Int(line.dropFirst("listening 127.0.0.1:".count)) {
                port = number
            } else {
                usleep(5_000)
            }
        }
        guard port > 0 else { throw TestSupportError("fake-providers printed no port: \(child.output)") }
    }

    override func tearDown() {
        if let fake {
            fake.signal(SIGTERM)
            XCTAssertEqual(fake.wait(timeout: 5), 0, "fake-providers stops cleanly on SIGTERM")
            try? FileManager.default.removeItem(atPath: fake.outputPath)
        }
        super.tearDown()
    }

    // MARK: - Adapters pointed at the fake

    private static let keys: [ProviderID: String] = [
        .openai: TestKeys.openAI, .anthropic: TestKeys.anthropic, .openrouter: TestKeys.openRouter,
        .elevenlabs: TestKeys.elevenLabs, .runway: TestKeys.runway, .veo: TestKeys.gemini, .fal: TestKeys.fal,
    ]
    private static let providers: [ProviderID] = [.openai, .anthropic, .openrouter, .elevenlabs, .runway, .veo, .fal]

    private func key(_ id: ProviderID) -> ProviderAPIKey { ProviderAPIKey(Self.keys[id] ?? "") }

    private func adapter(_ id: ProviderID, retry: RetryPolicy = .none, timeout: Double = 3) -> any MediaProvider {
        let context = makeContext(client: makeClient(timeout: timeout), retry: retry)
        switch id {
        case .openai: return OpenAIProvider(baseURL: origin + "/openai/v1", context: context)
        case .anthropic: return AnthropicProvider(baseURL: origin + "/anthropic", context: context)
        case .openrouter: return OpenRouterProvider(baseURL: origin + "/openrouter/api/v1", context: context)
        case .elevenlabs: return ElevenLabsProvider(baseURL: origin + "/elevenlabs", context: context)
        case .runway: return RunwayProvider(baseURL: origin + "/runway", context: context)
        case .veo: return VeoProvider(baseURL: origin + "/veo/v1beta", context: context)
        default: return FALProvider(queueURL: origin + "/fal/queue", apiURL: origin + "/fal/api/v1", context: context)
        }
    }

    /// The generation each provider is exercised with; the prompt carries the behaviour marker.
    private func request(_ id: ProviderID, _ prompt: String) -> GenerationRequest {
        switch id {
        case .openai:
            return GenerationRequest(kind: .text, model: "gpt-4o-mini", prompt: prompt, outputDirectory: outputDirectory)
        case .anthropic:
            return GenerationRequest(kind: .text, model: "claude-sonnet-4-5", prompt: prompt,
                                     parameters: GenerationParameters(maxOutputTokens: 200), outputDirectory: outputDirectory)
        case .openrouter:
            return GenerationRequest(kind: .text, model: "openai/gpt-4o-mini", prompt: prompt, outputDirectory: outputDirectory)
        case .elevenlabs:
            return GenerationRequest(kind: .audio, model: "eleven_multilingual_v2", prompt: prompt,
                                     parameters: GenerationParameters(voice: "21m00Tcm4TlvDq8ikWAM"), outputDirectory: outputDirectory)
        case .runway:
            return GenerationRequest(kind: .video, model: "gen4.5", prompt: prompt,
                                     parameters: GenerationParameters(durationSeconds: 5, aspectRatio: "1280:720"),
                                     outputDirectory: outputDirectory)
        case .veo:
            return GenerationRequest(kind: .video, model: "veo-3.1-generate-001", prompt: prompt,
                                     parameters: GenerationParameters(count: 2, durationSeconds: 8), outputDirectory: outputDirectory)
        default:
            return GenerationRequest(kind: .image, model: "fal-ai/flux/dev", prompt: prompt,
                                     parameters: GenerationParameters(count: 2), outputDirectory: outputDirectory)
        }
    }

    /// The route a generation's first request goes to, as the fake counts it.
    private static let submitRoutes: [ProviderID: String] = [
        .openai: "POST /v1/chat/completions", .anthropic: "POST /v1/messages", .openrouter: "POST /api/v1/chat/completions",
        .elevenlabs: "POST /v1/text-to-speech/{voice_id}", .runway: "POST /v1/text_to_video",
        .veo: "POST /v1beta/models/{model}:predictLongRunning", .fal: "POST /{model_id}",
    ]

    private func pending(_ result: ProviderResult, file: StaticString = #filePath, line: UInt = #line) throws -> ProviderTask {
        guard case let .pending(task) = result else { throw TestSupportError("expected a pending task, got \(result)") }
        return task
    }

    private func finished(_ result: ProviderResult) throws -> GenerationOutput {
        guard case let .finished(output) = result else { throw TestSupportError("expected a finished result, got \(result)") }
        return output
    }

    /// Polls as the worker does, without waiting; the statuses seen before the end.
    private func pollToEnd(_ provider: any MediaProvider, _ task: ProviderTask) async throws(ProviderError) -> (GenerationOutput, [String]) {
        var current = task
        var statuses: [String] = []
        for _ in 0..<10 {
            switch try await provider.poll(current, key: key(provider.id)) {
            case let .pending(next):
                statuses.append(next.providerStatus ?? "")
                current = next
            case let .finished(output):
                return (output, statuses)
            }
        }
        throw ProviderError(.timeout, provider: provider.id, message: "never finished after 10 polls")
    }

    // MARK: - The fake's own endpoints

    private func control(_ method: String, _ path: String, body: String? = nil) throws -> HTTPTestConnection.Response {
        try HTTPTestConnection(port: port).request(method, path, headers: body == nil ? [:] : ["Content-Type": "application/json"],
                                                   body: body.map { Data($0.utf8) })
    }

    private func count(_ provider: String, _ route: String) throws -> Int {
        let json = try control("GET", "/_fake/counters").json()
        let providers = json["providers"] as? [String: Any]
        let routes = (providers?[provider] as? [String: Any])?["routes"] as? [String: Any]
        return routes?[route] as? Int ?? 0
    }

    private func recorded(_ provider: String, route: String? = nil) throws -> [[String: Any]] {
        var path = "/_fake/requests?provider=\(provider)"
        if let route { path += "&route=" + (route.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? route) }
        return try control("GET", path).json()["requests"] as? [[String: Any]] ?? []
    }

    /// The fake's documented token count: about four UTF-8 bytes a token, never zero.
    private func fakeTokens(_ text: String) -> Int { max(1, (text.utf8.count + 3) / 4) }

    /// Runs `body`, expecting a `ProviderError` (existential adapters lose the typed throw).
    private func failure<T>(_ body: () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async -> ProviderError? {
        do {
            let value = try await body()
            XCTFail("expected a ProviderError, got \(value)", file: file, line: line)
            return nil
        } catch let error as ProviderError {
            logs.note(error.description)
            XCTAssertNil(TestKeys.leak(in: error.description), "key in error: \(error)", file: file, line: line)
            return error
        } catch {
            XCTFail("expected a ProviderError, got \(error)", file: file, line: line)
            return nil
        }
    }

    private func assertKind(_ error: ProviderError?, _ kind: ProviderError.Kind, _ context: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(error?.kind, kind, "\(context): \(error.map(String.init(describing:)) ?? "no error")", file: file, line: line)
    }

    // MARK: - Start-up and control

    func testPrintsItsPortFirstAndAnswersHealthAndTheBehaviourList() throws {
        XCTAssertTrue(fake?.output.hasPrefix("listening 127.0.0.1:\(port)\n") == true)
        XCTAssertEqual(try control("GET", "/_fake/health").status, 200)
        let behaviors = try control("GET", "/_fake/behaviors").json()["behaviors"] as? [String] ?? []
        for name in ["rate_limited", "quota_exhausted", "overloaded", "refused", "slow", "truncated_json", "invalid_json",
                     "cut_off", "task_failed", "throttled"] {
            XCTAssertTrue(behaviors.contains(name), name)
        }
        XCTAssertEqual(try control("GET", "/nowhere").status, 404)
    }

    // MARK: - Success with usage, per provider

    func testOpenAIChatImagesAndSpeechSucceedWithTheirUsage() async throws {
        let openAI = adapter(.openai)
        let prompt = "Say hello to the fake"
        let chat = try await finished(try openAI.submit(request(.openai, prompt), key: key(.openai)))
        XCTAssertEqual(chat.usage.inputTokens, fakeTokens(prompt) + 6)
        let reply = "This is a fake openai reply to: \(prompt)"
        XCTAssertEqual(chat.text, reply)
        XCTAssertEqual(chat.usage.outputTokens, fakeTokens(reply))
        XCTAssertEqual(chat.rateLimits["x-ratelimit-remaining-requests"], "499")

        let imageRequest = GenerationRequest(kind: .image, model: "gpt-image-1", prompt: "a red fox",
                                             parameters: GenerationParameters(size: "1536x1024", quality: "high", count: 2),
                                             outputDirectory: outputDirectory)
        let image = try await finished(try openAI.submit(imageRequest, key: key(.openai)))
        XCTAssertEqual(image.files.count, 2)
        XCTAssertEqual(image.usage.imageOutputTokens, 2 * 6240, "high 1536x1024 is 6240 tokens an image")
        XCTAssertEqual(image.usage.inputTokens, fakeTokens("a red fox"))
        XCTAssertEqual(Array(fileBytes(image.files.first?.path ?? "").prefix(4)), [0x89, 0x50, 0x4E, 0x47])

        let speechRequest = GenerationRequest(kind: .audio, model: "tts-1", prompt: "Hello world",
                                              parameters: GenerationParameters(outputFormat: "wav"), outputDirectory: outputDirectory)
        let speech = try await finished(try openAI.submit(speechRequest, key: key(.openai)))
        XCTAssertEqual(speech.usage.characters, 11)
        XCTAssertEqual(speech.files.first?.mimeType, "audio/wav")
        XCTAssertEqual(Array(fileBytes(speech.files.first?.path ?? "").prefix(4)), Array("RIFF".utf8))

        XCTAssertEqual(try count("openai", "POST /v1/chat/completions"), 1)
        XCTAssertEqual(try count("openai", "POST /v1/images/generations"), 1)
        XCTAssertEqual(try count("openai", "POST /v1/audio/speech"), 1)
        let sent = try XCTUnwrap(try recorded("openai", route: "POST /v1/images/generations").last)
        XCTAssertEqual((sent["headers"] as? [String: String])?["authorization"], "Bearer [redacted]")
        XCTAssertTrue((sent["body"] as? String)?.contains("\"quality\":\"high\"") == true)
    }

    func testAnthropicMessagesAndCountTokensSucceedWithUsage() async throws {
        let anthropic = adapter(.anthropic)
        let prompt = "Hello, Claude"
        let output = try await finished(try anthropic.submit(request(.anthropic, prompt), key: key(.anthropic)))
        XCTAssertEqual(output.usage.inputTokens, fakeTokens(prompt) + 7)
        XCTAssertEqual(output.usage.outputTokens, fakeTokens("This is a fake anthropic reply to: \(prompt)"))
        XCTAssertEqual(output.finishReason, "end_turn")
        XCTAssertEqual(output.model, "claude-sonnet-4-5-20250929")
        XCTAssertEqual(output.rateLimits["anthropic-ratelimit-requests-remaining"], "49")
        XCTAssertEqual(try anthropic.countInputTokens(request(.anthropic, prompt), key: key(.anthropic)), fakeTokens(prompt) + 7)

        let limited = GenerationRequest(kind: .text, model: "claude-sonnet-4-5", prompt: prompt,
                                        parameters: GenerationParameters(maxOutputTokens: 3), outputDirectory: outputDirectory)
        let cut = try await finished(try anthropic.submit(limited, key: key(.anthropic)))
        XCTAssertEqual(cut.finishReason, "max_tokens")
        XCTAssertEqual(cut.usage.outputTokens, 3)
        let sent = try XCTUnwrap(try recorded("anthropic", route: "POST /v1/messages").last)
        let headers = sent["headers"] as? [String: String]
        XCTAssertEqual(headers?["x-api-key"], "[redacted]")
        XCTAssertEqual(headers?["anthropic-version"], "2023-06-01")
    }

    func testOpenRouterChatReportsTheChargedCostExactly() async throws {
        let openRouter = adapter(.openrouter)
        let prompt = "Route me"
        let output = try await finished(try openRouter.submit(request(.openrouter, prompt), key: key(.openrouter)))
        let input = fakeTokens(prompt) + 6
        let completion = fakeTokens("This is a fake openrouter reply to: \(prompt)")
        XCTAssertEqual(output.usage.inputTokens, input)
        XCTAssertEqual(output.usage.outputTokens, completion)
        let expected = Decimal(input) * Decimal(15) / 100_000_000 + Decimal(completion) * Decimal(6) / 10_000_000
        XCTAssertEqual(output.usage.providerReportedCostUSD, expected)
        XCTAssertTrue(output.notes.contains("routed_to:OpenAI"))
        let account = try XCTUnwrap(try openRouter.validateKey(key(.openrouter)).account)
        XCTAssertEqual(account.remaining, Decimal(string: "74.5"))
    }

    func testElevenLabsSpeechReportsCharacterCostAndTheKeyCheckReadsQuota() async throws {
        let elevenLabs = adapter(.elevenlabs)
        let prompt = "Read this aloud"
        let output = try await finished(try elevenLabs.submit(request(.elevenlabs, prompt), key: key(.elevenlabs)))
        XCTAssertEqual(output.usage.characters, prompt.count)
        XCTAssertEqual(output.usage.providerCredits, Decimal(prompt.count), "multilingual v2 costs a credit a character")
        XCTAssertEqual(Array(fileBytes(output.files.first?.path ?? "").prefix(3)), Array("ID3".utf8))
        let account = try XCTUnwrap(try elevenLabs.validateKey(key(.elevenlabs)).account)
        XCTAssertEqual(account.remaining, Decimal(110_000 - 12_034))
        XCTAssertEqual(try elevenLabs.voices(key: key(.elevenlabs)).map(\.id).first, "21m00Tcm4TlvDq8ikWAM")
        let sent = try XCTUnwrap(try recorded("elevenlabs", route: "POST /v1/text-to-speech/{voice_id}").last)
        XCTAssertEqual((sent["query"] as? [String: String])?["output_format"], "mp3_44100_128")
    }

    // MARK: - Async state machines

    func testRunwayTaskRunsPendingRunningSucceededAndItsVideoDownloads() async throws {
        let runway = adapter(.runway)
        let task = try await pending(try runway.submit(request(.runway, "A slow push in"), key: key(.runway)))
        let (output, statuses) = try await pollToEnd(runway, task)
        XCTAssertEqual(statuses, ["PENDING", "RUNNING"])
        XCTAssertEqual(output.usage.videoSeconds, 5)
        XCTAssertEqual(output.usage.providerCredits, 60, "gen4.5 bills 12 credits a second")
        XCTAssertEqual(output.files.first?.mimeType, "video/mp4")
        XCTAssertEqual(Array(fileBytes(output.files.first?.path ?? "").dropFirst(4).prefix(4)), Array("ftyp".utf8))
        XCTAssertEqual(try count("runway", "POST /v1/text_to_video"), 1)
        XCTAssertEqual(try count("runway", "GET /v1/tasks/{id}"), 3)
        XCTAssertEqual(try count("runway", "GET /_cdn/{task}/{file}"), 1, "downloaded once, without the key")
        let sent = try XCTUnwrap(try recorded("runway", route: "POST /v1/text_to_video").last)
        XCTAssertEqual((sent["headers"] as? [String: String])?["x-runway-version"], "2024-11-06")
    }

    func testRunwayCancelStopsARunningTaskAndLeavesAFinishedOneAlone() async throws {
        let runway = adapter(.runway)
        let task = try await pending(try runway.submit(request(.runway, "Cancel me"), key: key(.runway)))
        _ = try await runway.poll(task, key: key(.runway))
        let whileRunning = try await runway.cancel(task, key: key(.runway))
        XCTAssertEqual(whileRunning, .cancelled)
        XCTAssertEqual(try count("runway", "DELETE /v1/tasks/{id}"), 1)
        assertKind(await failure { try await runway.poll(task, key: key(.runway)) }, .cancelled, "a cancelled task polls as CANCELLED")

        let done = try await pending(try runway.submit(request(.runway, "Finish first"), key: key(.runway)))
        _ = try await pollToEnd(runway, done)
        let outcome = try await runway.cancel(done, key: key(.runway))
        XCTAssertEqual(outcome, .alreadyFinished)
        XCTAssertEqual(try count("runway", "DELETE /v1/tasks/{id}"), 1, "a finished task is not deleted")
    }

    func testRunwayThrottledFailedAndRefusedTasks() async throws {
        let runway = adapter(.runway)
        let throttled = try await pending(try runway.submit(request(.runway, "Busy [fake:throttled]"), key: key(.runway)))
        let value = try await pollToEnd(runway, throttled).1
        XCTAssertEqual(value, ["THROTTLED", "PENDING", "RUNNING"])

        let failed = try await pending(try runway.submit(request(.runway, "Break [fake:task_failed]"), key: key(.runway)))
        let failure = await self.failure { try await pollToEnd(runway, failed) }
        assertKind(failure, .generationFailed, "FAILED task")
        XCTAssertEqual(failure?.providerCode, "INTERNAL.BAD_OUTPUT.CODE01")

        let refused = try await pending(try runway.submit(request(.runway, "Forbidden [fake:refused]"), key: key(.runway)))
        let refusal = await self.failure { try await pollToEnd(runway, refused) }
        assertKind(refusal, .contentRefused, "SAFETY task")
        XCTAssertEqual(refusal?.providerCode, "SAFETY.INPUT.TEXT")
    }

    func testVeoOperationCompletesAndEachSampleDownloadFollowsTheRedirect() async throws {
        let veo = adapter(.veo)
        let task = try await pending(try veo.submit(request(.veo, "Two people and a drawing"), key: key(.veo)))
        XCTAssertTrue(task.id.hasPrefix("models/veo-3.1-generate-001/operations/"))
        let (output, statuses) = try await pollToEnd(veo, task)
        XCTAssertEqual(statuses, ["RUNNING"])
        XCTAssertEqual(output.files.count, 2)
        XCTAssertEqual(output.usage.videoSeconds, 16, "two samples of 8 seconds")
        XCTAssertEqual(output.usage.videoClips, 2)
        XCTAssertEqual(try count("veo", "GET /v1beta/files/{file}:download"), 2)
        XCTAssertEqual(try count("veo", "GET /_storage/{file}"), 2, "the 302 was followed")
        XCTAssertEqual(Array(fileBytes(output.files.last?.path ?? "").dropFirst(4).prefix(4)), Array("ftyp".utf8))
    }

    func testVeoFailedAndFilteredOperations() async throws {
        let veo = adapter(.veo)
        let failed = try await pending(try veo.submit(request(.veo, "Break [fake:task_failed]"), key: key(.veo)))
        let failure = await self.failure { try await pollToEnd(veo, failed) }
        assertKind(failure, .generationFailed, "operation error")
        XCTAssertEqual(failure?.providerCode, "rpc_13")

        let filtered = try await pending(try veo.submit(request(.veo, "Forbidden [fake:refused]"), key: key(.veo)))
        let refusal = await self.failure { try await pollToEnd(veo, filtered) }
        assertKind(refusal, .contentRefused, "RAI-filtered operation")
    }

    func testFALQueueRunsThroughTheReturnedURLsToImagesWithMegapixels() async throws {
        let fal = adapter(.fal)
        let task = try await pending(try fal.submit(request(.fal, "A cat in a hat"), key: key(.fal)))
        XCTAssertEqual(task.urls["status"], origin + "/fal/queue/fal-ai/flux/requests/\(task.id)/status",
                       "status lives under the app root without the /dev subpath")
        let (output, statuses) = try await pollToEnd(fal, task)
        XCTAssertEqual(statuses, ["IN_QUEUE", "IN_PROGRESS"])
        XCTAssertEqual(output.files.count, 2)
        XCTAssertEqual(output.usage.images, 2)
        XCTAssertEqual(output.usage.imageSize, "1024x768")
        XCTAssertEqual(output.usage.megapixels, Decimal(2 * 1024 * 768) / 1_000_000)
        XCTAssertEqual(Array(fileBytes(output.files.first?.path ?? "").prefix(2)), [0xFF, 0xD8], "JPEG by default")
        XCTAssertEqual(try count("fal", "GET /{app}/requests/{id}/status"), 3)
        XCTAssertEqual(try count("fal", "GET /{app}/requests/{id}"), 1)
        XCTAssertEqual(try count("fal", "GET /media/files/{file}"), 2)
        _ = try fal.validateKey(key(.fal))
        XCTAssertEqual(try count("fal", "GET /v1/models/pricing"), 1)
    }

    func testFALCancelBeforeCompletionAndAfterIt() async throws {
        let fal = adapter(.fal)
        let task = try await pending(try fal.submit(request(.fal, "Cancel me"), key: key(.fal)))
        let whileQueued = try await fal.cancel(task, key: key(.fal))
        XCTAssertEqual(whileQueued, .removedFromQueue, "OK: still queued, it is removed")
        assertKind(await failure { try await fal.poll(task, key: key(.fal)) }, .cancelled, "a cancelled request")

        var started = try await pending(try fal.submit(request(.fal, "Stop me"), key: key(.fal)))
        for _ in 0..<2 { started = try await pending(try fal.poll(started, key: key(.fal))) }
        XCTAssertEqual(started.providerStatus, "IN_PROGRESS")
        let whileRunning = try await fal.cancel(started, key: key(.fal))
        XCTAssertEqual(whileRunning, .stopRequested, "CANCELLATION_REQUESTED: its runner is only signalled")

        let done = try await pending(try fal.submit(request(.fal, "Finish first"), key: key(.fal)))
        _ = try await pollToEnd(fal, done)
        let outcome = try await fal.cancel(done, key: key(.fal))
        XCTAssertEqual(outcome, .alreadyFinished)
        XCTAssertEqual(try count("fal", "PUT /{app}/requests/{id}/cancel"), 3)
    }

    func testFALFailedAndFlaggedResults() async throws {
        let fal = adapter(.fal)
        let failed = try await pending(try fal.submit(request(.fal, "Break [fake:task_failed]"), key: key(.fal)))
        assertKind(await failure { try await pollToEnd(fal, failed) }, .providerDown, "COMPLETED with an error result")

        let flagged = try await pending(try fal.submit(request(.fal, "Forbidden [fake:refused]"), key: key(.fal)))
        let value = try await pollToEnd(fal, flagged).0.notes.contains("nsfw_filtered")
        XCTAssertTrue(value)
    }

    // MARK: - Errors, per provider

    /// What each adapter makes of each error behaviour, sent as a prompt marker at the first
    /// request of a generation. Where a row differs between providers, the provider's real wire
    /// answer differs (providers.md): ElevenLabs answers overload with 429 `system_busy`, and the
    /// Gemini API's quota answer is the same 429 RESOURCE_EXHAUSTED as its rate limit.
    private static let errorMatrix: [(behavior: String, kinds: [ProviderID: ProviderError.Kind])] = [
        ("bad_request", all(.badRequest)),
        ("unauthorized", all(.invalidKey)),
        ("forbidden", all(.permissionDenied, except: [.openrouter: .contentRefused])),
        ("not_found", all(.notFound)),
        ("rate_limited:2", all(.rateLimited(retryAfter: 2))),
        ("quota_exhausted", all(.quotaExhausted, except: [.veo: .rateLimited(retryAfter: nil)])),
        ("server_error", all(.providerDown)),
        ("unavailable", all(.providerDown)),
        ("overloaded", all(.providerDown, except: [.elevenlabs: .rateLimited(retryAfter: nil)])),
        ("cut_off", all(.network)),
    ]

    private static func all(_ kind: ProviderError.Kind, except: [ProviderID: ProviderError.Kind] = [:]) -> [ProviderID: ProviderError.Kind] {
        Dictionary(uniqueKeysWithValues: providers.map { ($0, except[$0] ?? kind) })
    }

    func testEveryErrorBehaviourMapsToItsProviderErrorForEveryProvider() async throws {
        var checked = 0
        for id in Self.providers {
            let provider = adapter(id)
            for (behavior, kinds) in Self.errorMatrix {
                let error = await failure { try await provider.submit(request(id, "Hello [fake:\(behavior)]"), key: key(id)) }
                assertKind(error, kinds[id] ?? .unsupported, "\(id.rawValue) \(behavior)")
                checked += 1
            }
            XCTAssertEqual(try count(id.rawValue, Self.submitRoutes[id] ?? ""), Self.errorMatrix.count,
                           "\(id.rawValue): one request per behaviour, none retried")
        }
        XCTAssertEqual(checked, 70)
    }

    func testOverloadedIsA529ForAnthropic() async throws {
        _ = await failure { try await adapter(.anthropic).submit(request(.anthropic, "Hi [fake:overloaded]"), key: key(.anthropic)) }
        let sent = try XCTUnwrap(try recorded("anthropic").last)
        XCTAssertEqual(sent["status"] as? Int, 529)
    }

    /// ElevenLabs only generates speech, which is sent at most once (a 429 is not retried), so it
    /// is checked on its own below.
    func testRateLimitedOnceIsRetriedAfterTheRequestedWaitForEveryProvider() async throws {
        for id in Self.providers where id != .elevenlabs {
            sleeps = SleepRecorder()
            let provider = adapter(id, retry: RetryPolicy())
            _ = try await provider.submit(request(id, "Again [fake:rate_limited_once:2]"), key: key(id))
            XCTAssertEqual(sleeps.recorded, [2], "\(id.rawValue) waited the server's retry-after")
            XCTAssertEqual(try count(id.rawValue, Self.submitRoutes[id] ?? ""), 2, "\(id.rawValue): the 429, then the retry")
        }
    }

    func testRateLimitedSpeechIsNotRetried() async throws {
        sleeps = SleepRecorder()
        let provider = adapter(.elevenlabs, retry: RetryPolicy())
        let error = await failure { try await provider.submit(request(.elevenlabs, "Again [fake:rate_limited_once:2]"), key: key(.elevenlabs)) }
        assertKind(error, .rateLimited(retryAfter: 2), "elevenlabs")
        XCTAssertEqual(sleeps.recorded, [], "no wait before a retry that must not happen")
        XCTAssertEqual(try count("elevenlabs", Self.submitRoutes[.elevenlabs] ?? ""), 1, "speech reached the provider once")
    }

    func testQuotaExhaustedIsNotRetried() async throws {
        for id in Self.providers where id != .veo {
            let provider = adapter(id, retry: RetryPolicy())
            _ = await failure { try await provider.submit(request(id, "Pay [fake:quota_exhausted]"), key: key(id)) }
            XCTAssertEqual(try count(id.rawValue, Self.submitRoutes[id] ?? ""), 1, id.rawValue)
        }
    }

    func testASlowAnswerTimesOutForEveryProvider() async throws {
        for id in Self.providers {
            let provider = adapter(id, timeout: 0.5)
            let started = Date()
            let error = await failure { try await provider.submit(request(id, "Wait [fake:slow:3]"), key: key(id)) }
            assertKind(error, .timeout, id.rawValue)
            XCTAssertLessThan(Date().timeIntervalSince(started), 2.5, "\(id.rawValue) gave up at its own timeout")
        }
    }

    func testTruncatedAndInvalidJSONAreCleanErrorsForEveryProvider() async throws {
        for id in Self.providers {
            let provider = adapter(id)
            for behavior in ["truncated_json", "invalid_json"] {
                let error: ProviderError?
                if id == .elevenlabs {
                    // Speech answers audio, so the JSON case is the voice list.
                    error = await failure {
                        try adapter(.elevenlabs).validateKey(ProviderAPIKey(TestKeys.elevenLabs + "[fake:\(behavior)]"))
                    }
                } else {
                    error = await failure { try await provider.submit(request(id, "Hi [fake:\(behavior)]"), key: key(id)) }
                }
                assertKind(error, .malformedResponse, "\(id.rawValue) \(behavior)")
            }
        }
    }

    func testAScriptedBehaviourHitsTheNextPollOnly() async throws {
        let runway = adapter(.runway)
        let task = try await pending(try runway.submit(request(.runway, "Script me"), key: key(.runway)))
        let script = #"{"provider":"runway","route":"GET /v1/tasks/{id}","behavior":"server_error","times":1}"#
        XCTAssertEqual(try control("POST", "/_fake/script", body: script).status, 201)
        assertKind(await failure { try await runway.poll(task, key: key(.runway)) }, .providerDown, "scripted 500")
        _ = try await runway.poll(task, key: key(.runway))
        XCTAssertEqual(try control("POST", "/_fake/script", body: #"{"provider":"nobody","behavior":"slow"}"#).status, 400)
    }

    // MARK: - Refusals, in each provider's own shape

    func testRefusalsArriveInEachProvidersShape() async throws {
        let chat = try await finished(try adapter(.openai).submit(request(.openai, "Bad [fake:refused]"), key: key(.openai)))
        XCTAssertEqual(chat.finishReason, "refusal", "OpenAI: a 200 whose message carries `refusal`")
        XCTAssertTrue(chat.notes.contains("content_refused"))
        let image = GenerationRequest(kind: .image, model: "gpt-image-1", prompt: "Bad [fake:refused]", outputDirectory: outputDirectory)
        let blocked = await failure { try await adapter(.openai).submit(image, key: key(.openai)) }
        assertKind(blocked, .contentRefused, "OpenAI images: 400 moderation_blocked")
        XCTAssertEqual(blocked?.providerCode, "moderation_blocked")

        let claude = try await finished(try adapter(.anthropic).submit(request(.anthropic, "Bad [fake:refused]"), key: key(.anthropic)))
        XCTAssertEqual(claude.finishReason, "refusal", "Anthropic: stop_reason refusal, billed")
        XCTAssertGreaterThan(claude.usage.outputTokens, 0)

        assertKind(await failure { try await adapter(.openrouter).submit(request(.openrouter, "Bad [fake:refused]"), key: key(.openrouter)) },
                   .contentRefused, "OpenRouter: 403 moderation")
        // ElevenLabs documents no refusal code; the fake's 400 content_against_policy is an ordinary bad request.
        assertKind(await failure { try await adapter(.elevenlabs).submit(request(.elevenlabs, "Bad [fake:refused]"), key: key(.elevenlabs)) },
                   .badRequest, "ElevenLabs: 400")

        let kling = GenerationRequest(kind: .imageToVideo, model: "fal-ai/kling-video/v2.1/standard/image-to-video",
                                      prompt: "Bad [fake:refused]",
                                      parameters: GenerationParameters(inputImage: .url("https://example.com/first.png")),
                                      outputDirectory: outputDirectory)
        let fal = adapter(.fal)
        let task = try await pending(try fal.submit(kling, key: key(.fal)))
        assertKind(await failure { try await pollToEnd(fal, task) }, .badRequest, "FAL video: 422 content_policy_violation on the result")
        XCTAssertEqual(try count("fal", "GET /{app}/requests/{id}"), 1)
    }

    // MARK: - What the adapters do not use

    func testStreamsAndVeoCancelSpeakTheWireFormats() async throws {
        let body = #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Stream it"}]}"#
        let openAI = try HTTPTestConnection(port: port).request("POST", "/openai/v1/chat/completions",
                                                                headers: ["Authorization": "Bearer k"], body: Data(body.utf8))
        XCTAssertEqual(openAI.header("content-type"), "text/event-stream")
        XCTAssertTrue(openAI.text.hasSuffix("data: [DONE]\n\n"))
        XCTAssertTrue(openAI.text.contains(#""usage":{"prompt_tokens""#))
        let openRouter = try HTTPTestConnection(port: port).request("POST", "/openrouter/api/v1/chat/completions",
                                                                    headers: ["Authorization": "Bearer k"], body: Data(body.utf8))
        XCTAssertTrue(openRouter.text.hasPrefix(": OPENROUTER PROCESSING\n\n"))
        let claudeBody = #"{"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"Hi"}]}"#
        let anthropic = try HTTPTestConnection(port: port).request(
            "POST", "/anthropic/v1/messages", headers: ["x-api-key": "k", "anthropic-version": "2023-06-01"], body: Data(claudeBody.utf8))
        XCTAssertTrue(anthropic.text.hasPrefix("event: message_start\n"))
        XCTAssertTrue(anthropic.text.contains("event: message_delta\ndata: {\"type\":\"message_delta\""))
        XCTAssertTrue(anthropic.text.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))

        let veo = adapter(.veo)
        let task = try await pending(try veo.submit(request(.veo, "Cancel me"), key: key(.veo)))
        let outcome = try await veo.cancel(task, key: key(.veo))
        XCTAssertEqual(outcome, .notSupported, "the adapter does not cancel on the Gemini API")
        let cancel = try HTTPTestConnection(port: port).request("POST", "/veo/v1beta/\(task.id):cancel", headers: ["x-goog-api-key": "k"])
        XCTAssertEqual(cancel.status, 200)
        assertKind(await failure { try await veo.poll(task, key: key(.veo)) }, .generationFailed, "a cancelled operation ends with rpc code 1")
    }

    func testScriptedErrorsOnPollsAndDownloadsOfEveryAsyncProvider() async throws {
        let veo = adapter(.veo)
        let operation = try await pending(try veo.submit(request(.veo, "Poll trouble"), key: key(.veo)))
        _ = try control("POST", "/_fake/script", body: #"{"provider":"veo","route":"GET /v1beta/{operation}","behavior":"rate_limited:4"}"#)
        assertKind(await failure { try await veo.poll(operation, key: key(.veo)) }, .rateLimited(retryAfter: 4), "Veo poll 429")

        let fal = adapter(.fal)
        let request = try await pending(try fal.submit(self.request(.fal, "Poll trouble"), key: key(.fal)))
        _ = try control("POST", "/_fake/script", body: #"{"provider":"fal","route":"GET /{app}/requests/{id}/status","behavior":"server_error"}"#)
        assertKind(await failure { try await fal.poll(request, key: key(.fal)) }, .providerDown, "FAL status 500")
        _ = try control("POST", "/_fake/script", body: #"{"provider":"fal","route":"GET /media/files/{file}","behavior":"not_found"}"#)
        assertKind(await failure { try await pollToEnd(fal, request) }, .notFound, "FAL output download 404")

        let runway = adapter(.runway)
        let task = try await pending(try runway.submit(self.request(.runway, "Download trouble"), key: key(.runway)))
        _ = try control("POST", "/_fake/script", body: #"{"provider":"runway","route":"GET /_cdn/{task}/{file}","behavior":"cut_off"}"#)
        assertKind(await failure { try await pollToEnd(runway, task) }, .network, "Runway CDN download cut off")
        XCTAssertEqual(try count("runway", "GET /_cdn/{task}/{file}"), 1)
    }

    /// Random methods, paths under every prefix, headers and bodies, from a fixed seed: every one
    /// is answered, and the fake is still healthy afterwards.
    func testRandomRequestsAreAllAnswered() throws {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        let prefixes = ["/openai/v1", "/anthropic", "/openrouter/api/v1", "/elevenlabs", "/runway", "/veo/v1beta", "/veo",
                        "/fal/queue", "/fal/api/v1", "/fal/media", "/_fake", "/"]
        let words = ["v1", "models", "tasks", "requests", "status", "cancel", "chat", "completions", "messages", "files",
                     "x:download", "m:predictLongRunning", "operations", "text-to-speech", "_cdn", "..", "%2e", "a%00b", "ü"]
        let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
        let bodies = ["", "{}", "[]", "null", "{\"model\":1e999,\"n\":-1}", "{\"prompt\":[1,{\"a\":[]}]}", "\u{0}\u{1}garbage",
                      "{\"instances\":[{\"prompt\":\"x\"}],\"parameters\":{\"sampleCount\":99999999999}}",
                      "{\"messages\":[{\"role\":\"user\",\"content\":\"[fake:slow:0.01]\"}],\"model\":\"m\",\"max_tokens\":1}"]
        var answered = 0
        for _ in 0..<300 {
            var path = prefixes[next(prefixes.count)]
            for _ in 0..<next(6) { path += "/" + words[next(words.count)] }
            let headers = ["Authorization": ["Bearer k", "Key a:b", "Bearer", ""][next(4)], "x-api-key": "k",
                           "anthropic-version": "2023-06-01", "X-Runway-Version": "2024-11-06", "x-goog-api-key": "k",
                           "X-Fake-Behavior": ["", "slow:0.01", "nonsense", "rate_limited:1e9", "cut_off"][next(5)]]
            let method = methods[next(methods.count)]
            let body = bodies[next(bodies.count)]
            let response = try? HTTPTestConnection(port: port).request(method, path.isEmpty ? "/" : path, headers: headers,
                                                                       body: method == "GET" || method == "HEAD" ? nil : Data(body.utf8))
            if let response, response.status >= 200 { answered += 1 }
        }
        XCTAssertGreaterThan(answered, 250, "all but cut-off answers arrive whole")
        XCTAssertEqual(try control("GET", "/_fake/health").status, 200)
        XCTAssertNil(fake?.wait(timeout: 0.1), "still running")
    }

    // MARK: - Keys, headers, counters

    func testAKeyCarryingTheUnauthorizedMarkerFailsEveryKeyCheck() async throws {
        for id in Self.providers {
            let error = await failure { try adapter(id).validateKey(ProviderAPIKey(TestKeys.wrong + "[fake:unauthorized]")) }
            assertKind(error, .invalidKey, id.rawValue)
        }
    }

    func testMissingKeysAndMandatoryHeadersGetEachProvidersAnswer() throws {
        let missingKey: [(String, String, Int)] = [
            ("POST", "/openai/v1/chat/completions", 401), ("POST", "/anthropic/v1/messages", 401),
            ("POST", "/openrouter/api/v1/chat/completions", 401), ("GET", "/elevenlabs/v1/voices", 401),
            ("GET", "/veo/v1beta/models", 403),
            ("GET", "/runway/v1/organization", 401), ("POST", "/fal/queue/fal-ai/flux/dev", 401),
        ]
        for (method, path, status) in missingKey {
            var headers = ["anthropic-version": "2023-06-01"]
            if path.hasPrefix("/runway") { headers["X-Runway-Version"] = "2024-11-06" }
            let response = try HTTPTestConnection(port: port).request(method, path, headers: headers, body: Data("{}".utf8))
            XCTAssertEqual(response.status, status, path)
        }
        let noVersion = try HTTPTestConnection(port: port).request("POST", "/anthropic/v1/messages",
                                                                   headers: ["x-api-key": "k"], body: Data("{}".utf8))
        XCTAssertEqual(noVersion.status, 400)
        XCTAssertTrue(noVersion.text.contains("anthropic-version"))
        let noRunwayVersion = try HTTPTestConnection(port: port).request("GET", "/runway/v1/organization",
                                                                         headers: ["Authorization": "Bearer k"])
        XCTAssertEqual(noRunwayVersion.status, 400)
        let viaHeader = try HTTPTestConnection(port: port).request(
            "GET", "/openai/v1/models", headers: ["Authorization": "Bearer k", "X-Fake-Behavior": "rate_limited:7"])
        XCTAssertEqual(viaHeader.status, 429)
        XCTAssertEqual(viaHeader.header("retry-after"), "7")
        XCTAssertEqual(viaHeader.header("x-ratelimit-remaining-requests"), "0")
    }

    func testRecordedRequestsNeverHoldAKeyAndResetClearsEverything() async throws {
        for id in Self.providers {
            _ = try await adapter(id).submit(request(id, "Record me"), key: key(id))
        }
        let all = try control("GET", "/_fake/requests?limit=100")
        XCTAssertEqual((try all.json()["requests"] as? [[String: Any]])?.count, 7)
        XCTAssertNil(TestKeys.leak(in: all.text), "a key reached the recorded requests")
        XCTAssertTrue(all.text.contains("Key [redacted]"), "FAL's scheme word is kept")
        XCTAssertEqual(try control("GET", "/_fake/counters").json()["total"] as? Int, 7)
        XCTAssertEqual(try control("POST", "/_fake/reset").status, 204)
        XCTAssertEqual(try control("GET", "/_fake/counters").json()["total"] as? Int, 0)
        XCTAssertEqual(try control("GET", "/_fake/requests?provider=nobody").status, 400)
    }

    // MARK: - Garbage

    func testGarbageIsAnsweredAndNeverCrashesTheFake() throws {
        let deep = Data((String(repeating: "[", count: 200_000) + "\"prompt\"").utf8)
        XCTAssertEqual(try HTTPTestConnection(port: port).request("POST", "/fal/queue/fal-ai/flux/dev",
                                                                  headers: ["Authorization": "Key a:b"], body: deep).status, 422)
        let huge = #"{"model":"gpt-image-1","prompt":"x","n":1e400}"#
        XCTAssertEqual(try HTTPTestConnection(port: port).request("POST", "/openai/v1/images/generations",
                                                                  headers: ["Authorization": "Bearer k"], body: Data(huge.utf8)).status, 400)
        let binary = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        XCTAssertEqual(try HTTPTestConnection(port: port).request("POST", "/runway/v1/text_to_video",
                                                                  headers: ["Authorization": "Bearer k", "X-Runway-Version": "2024-11-06"],
                                                                  body: binary).status, 400)
        let tooBig = try HTTPTestConnection(port: port)
        try tooBig.send("POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Length: 999999999\r\n\r\n")
        XCTAssertEqual(try tooBig.readResponse().status, 413)
        let nonsense = try HTTPTestConnection(port: port)
        try nonsense.send("\u{1}\u{2} NOT HTTP AT ALL\r\n\r\n")
        _ = try? nonsense.readResponse()
        for path in ["/runway/v1/tasks/../../etc", "/veo/v1beta/models/x/operations/%00", "/fal/queue/a/b/requests/\u{7f}/status",
                     "/runway/v1/tasks/" + String(repeating: "a", count: 5000)] {
            let response = try HTTPTestConnection(port: port).request("GET", path, headers: [
                "Authorization": "Bearer k", "X-Runway-Version": "2024-11-06", "x-goog-api-key": "k"])
            XCTAssertGreaterThanOrEqual(response.status, 400, path)
        }
        XCTAssertEqual(try control("GET", "/_fake/health").status, 200)
        XCTAssertNil(fake?.wait(timeout: 0.1), "still running")
    }
}

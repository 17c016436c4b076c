import Domain
import Foundation
@testable import Providers
import TestSupport
import XCTest

/// Every test checks its own logs, errors and URLs in `tearDown`; this one drives every
/// provider through its failure paths with keys the fakes echo back, and checks that the logs
/// were really written (so the per-test check is not vacuous) and that none holds any 8
/// characters of a key.
final class KeyLeakTests: ProviderTestCase {
    func testNoKeyReachesLogsErrorsOrURLsOnAnyProvider() async throws {
        let openAI = try FakeOpenAI(), anthropic = try FakeAnthropic(), openRouter = try FakeOpenRouter()
        let elevenLabs = try FakeElevenLabs(), runway = try FakeRunway(), veo = try FakeVeo(), fal = try FakeFAL()
        for server in [openAI.server, anthropic.server, openRouter.server, elevenLabs.server, runway.server, veo.server,
                       veo.storage, fal.server, fal.media] {
            _ = track(server)
        }
        let context = makeContext(retry: RetryPolicy(maxAttempts: 2))
        let providers: [(any MediaProvider, String)] = [
            (OpenAIProvider(baseURL: openAI.baseURL, context: context), TestKeys.openAI),
            (AnthropicProvider(baseURL: anthropic.baseURL, context: context), TestKeys.anthropic),
            (OpenRouterProvider(baseURL: openRouter.baseURL, context: context), TestKeys.openRouter),
            (ElevenLabsProvider(baseURL: elevenLabs.baseURL, context: context), TestKeys.elevenLabs),
            (RunwayProvider(baseURL: runway.baseURL, context: context), TestKeys.runway),
            (VeoProvider(baseURL: veo.baseURL, context: context), TestKeys.gemini),
            (FALProvider(queueURL: fal.queueURL, apiURL: fal.apiURL, context: context), TestKeys.fal),
        ]
        for (provider, goodKey) in providers {
            for key in [TestKeys.wrong, goodKey] {
                _ = expectProviderError { () throws(ProviderError) in
                    _ = try provider.validateKey(ProviderAPIKey(key + (key == goodKey ? "-tampered" : "")))
                }
                let model = try XCTUnwrap(provider.capabilities().models.first)
                var parameters = GenerationParameters()
                if model.parameter(.inputImage)?.isRequired == true { parameters.inputImage = .url("https://example.com/a.png") }
                let request = GenerationRequest(kind: model.kind, model: model.id, prompt: "\(Magic.serverError) \(key)",
                                                parameters: parameters, outputDirectory: outputDirectory)
                do {
                    _ = try await provider.submit(request, key: ProviderAPIKey(key))
                } catch {
                    logs.note(error.description)
                    logs.note(String(reflecting: error))
                }
                _ = provider.healthCheck(key: ProviderAPIKey(key))
            }
        }
        let lines = logs.lines
        XCTAssertGreaterThan(logs.events("provider.http").count, 20)
        XCTAssertTrue(lines.contains { $0.contains("invalid_key") })
        // The leak check can fail: a line holding any 8 characters of a key is found.
        XCTAssertEqual(TestKeys.leak(in: "error: invalid key …" + TestKeys.runway.suffix(8)), String(TestKeys.runway.suffix(8)))
        XCTAssertNotNil(TestKeys.leak(in: String(TestKeys.fal.dropFirst(20).prefix(9))))
        XCTAssertNil(TestKeys.leak(in: "sk-proj-…" + String(TestKeys.openAI.suffix(4))), "a mask is not a leak")
        // The suite's capture holds this test's lines and every earlier provider test's.
        if let leak = TestKeys.leakDetector.firstLeak(in: LogCapture.suite.lines) {
            XCTFail("a piece of a key (\(leak.piece)) reached a log line or an error: \(leak.text)")
        }
    }

    /// The pattern scrubber, with no list of known secrets, removes every piece of a key whose
    /// shape is documented, wherever a provider's message puts it (ElevenLabs' older keys have no
    /// shape, so adapters pass them as known secrets instead; its current `sk_` keys are matched).
    func testTheScrubberRemovesEveryPieceOfRealisticallyShapedKeys() {
        let shaped = [TestKeys.openAI, TestKeys.anthropic, TestKeys.openRouter, TestKeys.runway, TestKeys.gemini, TestKeys.fal]
        for key in shaped {
            var texts = ["Incorrect API key provided: \(key).", "{\"error\":\"bad key \(key)\"}", "key=\(key)&x=1"]
            // OpenAI-style answers echo a truncated key.
            if key.hasPrefix("sk-") { texts.append("Incorrect API key provided: \(key.prefix(12))***\(key.suffix(4))") }
            for text in texts {
                let scrubbed = SecretScrubber.scrub(text)
                XCTAssertNil(KeyLeakDetector(keys: [key]).leak(in: scrubbed), "\(text) → \(scrubbed)")
            }
        }
        XCTAssertNil(TestKeys.leak(in: SecretScrubber.scrub("invalid \(TestKeys.elevenLabs)", secrets: [TestKeys.elevenLabs])))
        let current = "sk_" + String(repeating: "3f9a07c2", count: 6)
        for text in ["Invalid API key: \(current)", "{\"detail\":{\"message\":\"key \(current) is disabled\"}}"] {
            let scrubbed = SecretScrubber.scrub(text)
            XCTAssertNil(KeyLeakDetector(keys: [current]).leak(in: scrubbed), "\(text) → \(scrubbed)")
        }
        XCTAssertEqual(SecretScrubber.scrub("task_sk_total and disk_usage"), "task_sk_total and disk_usage", "words are left alone")
    }
}

import Domain
import Foundation
@testable import Providers
import Synchronization
import XCTest

final class ProviderPortTests: XCTestCase {
    func testKeysPrintOnlyTheirMask() {
        let key = ProviderAPIKey("sk-proj-abcdefghijklmnop1234")
        XCTAssertEqual(key.masked, "sk-…1234")
        XCTAssertEqual("\(key)", "sk-…1234")
        XCTAssertFalse(String(reflecting: key).contains("abcdefgh"))
        XCTAssertEqual(ProviderAPIKey("short").masked, "…")
    }

    func testScrubberRemovesExactSecretsAndKeyShapes() {
        XCTAssertEqual(SecretScrubber.patternCount, 8, "a key pattern failed to compile")
        let secret = "zz-custom-secret-value-123"
        let text = """
            bad key \(secret); Incorrect API key provided: sk-abc***...xyz. runway key_0123456789abcdef \
            google AIzaSyA1234567890abcdef https://x/y?alt=media&key=AIzaSECRET Bearer tok123 \
            fal 4b1d5e0a-1111-2222-3333-444455556666:0123456789abcdef xi-api-key: abcdef
            """
        let scrubbed = SecretScrubber.scrub(text, secrets: [secret])
        for leaked in [secret, "sk-abc", "key_0123", "AIzaSy", "AIzaSECRET", "tok123", "4b1d5e0a-1111", "abcdef\n"] {
            XCTAssertFalse(scrubbed.contains(leaked), "\(leaked) survived: \(scrubbed)")
        }
        XCTAssertTrue(scrubbed.contains("&key=[redacted]"))
        XCTAssertTrue(scrubbed.contains("Bearer [redacted]"))
        XCTAssertEqual(SecretScrubber.scrub("task-17f2 failed for monkey_business"), "task-17f2 failed for monkey_business",
                       "words merely containing sk- or key_ are left alone")
    }

    func testALoggerBuildsNoRecordBelowItsLevelAndScrubsTheOnesItKeeps() throws {
        let kept = Mutex<[ProviderLogRecord]>([])
        let logger = ProviderLogger(minimumLevel: .warning) { record in kept.withLock { $0.append(record) } }
        XCTAssertEqual([ProviderLogRecord.Level.debug, .info, .warning, .error].map(logger.isEnabled), [false, false, true, true])
        logger.log(.debug, "provider.debug", provider: .openai, ["detail": "quiet"])
        logger.log(.info, "provider.call", provider: .openai, ["detail": "quiet"])
        logger.log(.warning, "provider.retry", provider: .openai, ["detail": "retrying with zz-own-secret-0001"],
                   scrubbing: ["zz-own-secret-0001"])
        logger.log(.error, "provider.failed", provider: .openai, ["detail": "Incorrect API key provided: sk-proj-abcdef123456"])
        let records = kept.withLock { $0 }
        XCTAssertEqual(records.map(\.event), ["provider.retry", "provider.failed"])
        XCTAssertEqual(records.first?.fields["detail"], "retrying with [redacted]")
        XCTAssertEqual(records.last?.fields["detail"], "Incorrect API key provided: [redacted]")
        XCTAssertEqual(ProviderLogger { _ in }.minimumLevel, .debug, "a logger without a level keeps everything")
    }

    func testErrorsScrubAtConstructionAndDescribeThemselvesSafely() {
        let key = "my-very-own-secret-key-0001"
        let error = ProviderError(.invalidKey, provider: .openai, message: "Incorrect API key provided: \(key).",
                                  httpStatus: 401, providerCode: "invalid_api_key", scrubbing: [key])
        XCTAssertFalse(error.message.contains(key))
        XCTAssertFalse(error.description.contains(key))
        XCTAssertFalse(String(reflecting: error).contains(key))
        XCTAssertEqual(error.description, "openai invalid_key HTTP 401 [invalid_api_key]: Incorrect API key provided: [redacted].")
        XCTAssertFalse(error.isRetryable)
        XCTAssertEqual(error.code, "invalid_key")
    }

    func testRetryabilityByKind() {
        func retryable(_ kind: ProviderError.Kind) -> Bool { ProviderError(kind, provider: .fal, message: "").isRetryable }
        XCTAssertTrue(retryable(.rateLimited(retryAfter: 3)))
        XCTAssertTrue(retryable(.providerDown))
        XCTAssertTrue(retryable(.timeout))
        XCTAssertTrue(retryable(.network))
        for kind: ProviderError.Kind in [.invalidKey, .quotaExhausted, .contentRefused, .badRequest, .notFound, .permissionDenied,
                                         .responseTooLarge, .malformedResponse, .generationFailed, .cancelled, .unsupported] {
            XCTAssertFalse(retryable(kind), "\(kind)")
        }
        XCTAssertTrue(ProviderError(.quotaExhausted, provider: .openrouter, message: "", retryOverride: true).isRetryable)
    }

    func testCapabilityValidation() {
        let model = ModelCapability(id: "m", kind: .image, parameters: [
            ParameterSpec(.size, .oneOf(["1024x1024"])),
            ParameterSpec(.count, .integerRange(min: 1, max: 4)),
            ParameterSpec(.durationSeconds, .integers([4, 8])),
            ParameterSpec(.speed, .decimalRange(min: 1, max: 2)),
            ParameterSpec(.inputImage, .image, required: true),
        ], maxPromptLength: 10)
        let good = GenerationRequest(kind: .image, model: "m", prompt: "cat",
                                     parameters: GenerationParameters(size: "1024x1024", count: 2, durationSeconds: 8,
                                                                      speed: Decimal(string: "1.5"),
                                                                      inputImage: .url("https://x/y.png")),
                                     outputDirectory: "/tmp")
        XCTAssertEqual(model.validate(good), [])
        let bad = GenerationRequest(kind: .video, model: "m", prompt: "far too long a prompt",
                                    parameters: GenerationParameters(size: "1x1", count: 9, durationSeconds: 5, voice: "alloy",
                                                                     speed: 3),
                                    outputDirectory: "/tmp")
        let fields = model.validate(bad).map { "\($0.field):\($0.code)" }
        XCTAssertEqual(Set(fields), ["kind:unsupported_kind", "prompt:too_long", "voice:unsupported_parameter", "size:invalid_value",
                                     "count:invalid_value", "duration_seconds:invalid_value", "speed:invalid_value",
                                     "input_image:required"])
    }

    func testResultsAndTasksRoundTripThroughJSON() throws {
        let task = ProviderTask(provider: .fal, id: "r1", kind: .image, model: "fal-ai/flux/dev",
                                submittedAt: Date(timeIntervalSince1970: 1_700_000_000), pollAfterSeconds: 1.5,
                                urls: ["status": "https://queue.fal.run/fal-ai/flux/requests/r1/status"],
                                outputDirectory: "/tmp/out", context: ["duration": "5"], providerStatus: "IN_QUEUE", progress: 0.5)
        let result = ProviderResult.pending(task)
        XCTAssertEqual(try JSONDecoder().decode(ProviderResult.self, from: JSONEncoder().encode(result)), result)
        let output = GenerationOutput(provider: .openrouter, model: "m", kind: .text, text: "hi",
                                      usage: NormalisedUsage(inputTokens: 1, providerReportedCostUSD: Decimal(string: "0.0000047")))
        XCTAssertEqual(try JSONDecoder().decode(GenerationOutput.self, from: JSONEncoder().encode(output)), output)
    }
}

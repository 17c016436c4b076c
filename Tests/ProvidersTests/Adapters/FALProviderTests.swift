import Domain
import Foundation
@testable import Providers
import TestSupport
import XCTest

final class FALProviderTests: ProviderTestCase {
    var fake: FakeFAL!
    let key = ProviderAPIKey(TestKeys.fal)

    override func setUp() {
        super.setUp()
        fake = try! FakeFAL()
        _ = track(fake.server)
        _ = track(fake.media)
    }

    var provider: FALProvider { FALProvider(queueURL: fake.queueURL, apiURL: fake.apiURL, context: makeContext()) }

    func flux(_ prompt: String, count: Int = 2) -> GenerationRequest {
        GenerationRequest(kind: .image, model: "fal-ai/flux/dev", prompt: prompt,
                          parameters: GenerationParameters(size: "landscape_4_3", count: count, outputFormat: "png", seed: 7),
                          outputDirectory: outputDirectory)
    }

    func pending(_ result: ProviderResult) throws -> ProviderTask {
        guard case let .pending(task) = result else { throw TestSupportError("expected pending") }
        return task
    }

    func pollToEnd(_ task: ProviderTask) async throws(ProviderError) -> (GenerationOutput, [String]) {
        var current = task
        var statuses: [String] = []
        for _ in 0..<10 {
            switch try await provider.poll(current, key: key) {
            case let .pending(next):
                statuses.append(next.providerStatus ?? "")
                current = next
            case let .finished(output):
                return (output, statuses)
            }
        }
        throw ProviderError(.timeout, provider: .fal, message: "never finished")
    }

    func testFluxQueueSubmitStatusAndResultThroughTheReturnedURLs() async throws {
        let task = try await pending(try provider.submit(flux("a cat"), key: key))
        XCTAssertEqual(task.urls["status"], "\(fake.queueURL)/fal-ai/flux/requests/\(task.id)/status", "subpath dropped")
        let sent = try XCTUnwrap(fake.server.requests.first)
        XCTAssertEqual(sent.path, "/fal-ai/flux/dev")
        XCTAssertEqual(sent.header("authorization"), "Key \(TestKeys.fal)")
        XCTAssertEqual(sent.bodyText, #"{"prompt":"a cat","image_size":"landscape_4_3","num_images":2,"seed":7,"output_format":"png"}"#)

        let (output, statuses) = try await pollToEnd(task)
        XCTAssertEqual(statuses, ["IN_QUEUE", "IN_PROGRESS"])
        XCTAssertEqual(output.files.count, 2)
        XCTAssertEqual(output.files.first?.width, 1024)
        XCTAssertEqual(output.files.first?.mimeType, "image/png")
        XCTAssertEqual(Data(fileBytes(output.files[0].path)), FakeAssets.png)
        XCTAssertEqual(output.usage.images, 2)
        XCTAssertEqual(output.usage.imageSize, "1024x768")
        XCTAssertEqual(output.usage.megapixels, Decimal(string: "1.572864"))
        XCTAssertTrue(output.notes.isEmpty)
        XCTAssertTrue(fake.media.requests.allSatisfy { $0.header("authorization") == nil }, "media host never sees the key")
    }

    func testKlingImageToVideo() async throws {
        let request = GenerationRequest(kind: .imageToVideo, model: FALCatalog.klingModel, prompt: "the cat walks",
                                        parameters: GenerationParameters(durationSeconds: 10,
                                                                         inputImage: .url("https://example.com/cat.png")),
                                        outputDirectory: outputDirectory)
        let task = try await pending(try provider.submit(request, key: key))
        XCTAssertEqual(task.pollAfterSeconds, 5)
        XCTAssertTrue(task.urls["response"]?.hasSuffix("/fal-ai/kling-video/requests/\(task.id)") ?? false)
        let body = try XCTUnwrap(fake.server.requests.first?.json)
        XCTAssertEqual(body["duration"], .string("10"), "Kling takes a string duration")
        XCTAssertEqual(body["image_url"]?.string, "https://example.com/cat.png")
        let (output, _) = try await pollToEnd(task)
        XCTAssertEqual(output.files.first?.mimeType, "video/mp4")
        XCTAssertEqual(output.usage.videoSeconds, 10)
    }

    func testURLsOnAnotherOriginAreNotTrustedWithTheKey() async throws {
        let task = try await pending(try provider.submit(flux("__foreign__", count: 1), key: key))
        XCTAssertTrue(task.urls["status"]?.hasPrefix(fake.queueURL) ?? false)
        _ = try await pollToEnd(task)
        XCTAssertTrue(fake.media.requests.allSatisfy { $0.header("authorization") == nil })
        XCTAssertFalse(fake.media.requests.contains { $0.path.contains("/requests/") })
    }

    func testAnAnswerWithMoreImagesThanAnyRequestMayAskForIsCutToThatMany() async throws {
        let (output, _) = try await pollToEnd(try pending(try provider.submit(flux("__many__", count: 1), key: key)))
        XCTAssertEqual(output.files.count, QuoteRequest.maximumCount, "40 answered, at most 16 kept")
        XCTAssertEqual(output.usage.images, QuoteRequest.maximumCount)
        XCTAssertEqual(fake.media.requests.count, QuoteRequest.maximumCount, "the others are never downloaded")
    }

    func testNSFWFilteredImagesAreNoted() async throws {
        let (output, _) = try await pollToEnd(try pending(try provider.submit(flux("__nsfw__", count: 1), key: key)))
        XCTAssertEqual(output.notes, ["nsfw_filtered"])
    }

    func testCompletedWithAnErrorResultAndFailedStatus() async throws {
        let refused = try await pending(try provider.submit(flux(Magic.refuse), key: key))
        let error = await expectProviderError { () async throws(ProviderError) in try await pollToEnd(refused) }
        XCTAssertEqual(error?.kind, .badRequest)
        XCTAssertEqual(error?.providerCode, "content_policy_violation")
        let failed = try await pending(try provider.submit(flux(Magic.fail), key: key))
        let failure = await expectProviderError { () async throws(ProviderError) in try await pollToEnd(failed) }
        XCTAssertEqual(failure?.kind, .generationFailed)
        XCTAssertEqual(failure?.providerCode, "runner_error")
    }

    func testCancelBeforeAndAfterCompletion() async throws {
        let early = try await pending(try provider.submit(flux("a"), key: key))
        let whileQueued = try await provider.cancel(early, key: key)
        XCTAssertEqual(whileQueued, .removedFromQueue, "OK: a queued request is taken off the queue")
        XCTAssertEqual(fake.server.requests.last?.method, "PUT")
        let kind = await expectProviderError { () async throws(ProviderError) in try await pollToEnd(early) }?.kind
        XCTAssertEqual(kind, .cancelled)
        // Polled to IN_PROGRESS: a runner has it, and is only signalled to stop.
        var started = try await pending(try provider.submit(flux("c"), key: key))
        for _ in 0..<2 { started = try pending(try await provider.poll(started, key: key)) }
        XCTAssertEqual(started.providerStatus, "IN_PROGRESS")
        let whileRunning = try await provider.cancel(started, key: key)
        XCTAssertEqual(whileRunning, .stopRequested, "CANCELLATION_REQUESTED: the runner may run on and bill")
        let late = try await pending(try provider.submit(flux("b"), key: key))
        _ = try await pollToEnd(late)
        let outcome = try await provider.cancel(late, key: key)
        XCTAssertEqual(outcome, .alreadyFinished)
    }

    func testErrorsAndKeyCheck() async throws {
        let kind = await expectProviderError { () async throws(ProviderError) in try await provider.submit(flux(Magic.quota), key: key) }?.kind
        XCTAssertEqual(kind, .quotaExhausted)
        let validation = await expectProviderError { () async throws(ProviderError) in try await provider.submit(flux(Magic.badRequest), key: key) }
        XCTAssertEqual(validation?.kind, .badRequest)
        XCTAssertEqual(validation?.message, "body.image_size: value is not a valid enumeration member")
        XCTAssertEqual(expectProviderError { () throws(ProviderError) in
            try provider.validateKey(ProviderAPIKey(TestKeys.wrong))
        }?.kind, .invalidKey)
        XCTAssertEqual(try provider.validateKey(key).checkedWith, "GET /v1/models/pricing")
    }

    func testAppRootRules() {
        XCTAssertEqual(FALProvider.queueURLs(base: "https://q", model: "fal-ai/flux/dev", requestID: "r")["status"],
                       "https://q/fal-ai/flux/requests/r/status")
        XCTAssertEqual(FALProvider.queueURLs(base: "https://q", model: "workflows/me/my-flow/x", requestID: "r")["response"],
                       "https://q/workflows/me/my-flow/requests/r")
    }
}

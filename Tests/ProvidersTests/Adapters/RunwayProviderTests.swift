import Domain
import Foundation
@testable import Providers
import TestSupport
import XCTest

final class RunwayProviderTests: ProviderTestCase {
    var fake: FakeRunway!
    let key = ProviderAPIKey(TestKeys.runway)

    override func setUp() {
        super.setUp()
        fake = try! FakeRunway()
        _ = track(fake.server)
    }

    func provider(timeout: Double = 3) -> RunwayProvider {
        RunwayProvider(baseURL: fake.baseURL, context: makeContext(client: makeClient(timeout: timeout)))
    }

    func imageToVideo(_ prompt: String) throws -> GenerationRequest {
        let imagePath = outputDirectory + "/first.png"
        try FakeAssets.png.write(to: URL(fileURLWithPath: imagePath))
        return GenerationRequest(kind: .imageToVideo, model: "gen4_turbo", prompt: prompt,
                                 parameters: GenerationParameters(durationSeconds: 5, aspectRatio: "1280:720", seed: 42,
                                                                  inputImage: .file(path: imagePath, mimeType: "image/png")),
                                 outputDirectory: outputDirectory)
    }

    func pending(_ result: ProviderResult) throws -> ProviderTask {
        guard case let .pending(task) = result else { throw TestSupportError("expected pending") }
        return task
    }

    /// Polls like the worker does, without waiting between polls.
    func pollToEnd(_ task: ProviderTask, provider: RunwayProvider) async throws(ProviderError) -> (GenerationOutput, [String]) {
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
        throw ProviderError(.timeout, provider: .runway, message: "never finished")
    }

    func testImageToVideoSubmitShapeThenPollToCompletionAndDownload() async throws {
        let provider = provider()
        let task = try await pending(try provider.submit(try imageToVideo("The camera slowly pushes in"), key: key))
        XCTAssertEqual(task.provider, .runway)
        XCTAssertEqual(task.pollAfterSeconds, 5)
        let sent = try XCTUnwrap(fake.server.requests.first)
        XCTAssertEqual(sent.path, "/v1/image_to_video")
        XCTAssertEqual(sent.header("x-runway-version"), "2024-11-06")
        let body = try XCTUnwrap(sent.json)
        XCTAssertEqual(body["model"]?.string, "gen4_turbo")
        XCTAssertEqual(body["promptImage"]?.string, "data:image/png;base64,\(FakeAssets.pngBase64)")
        XCTAssertEqual(body["ratio"]?.string, "1280:720")
        XCTAssertEqual(body["duration"]?.int, 5)
        XCTAssertEqual(body["seed"]?.int, 42)

        // The task survives a restart: persisted as JSON, decoded by a new worker.
        let restored = try JSONDecoder().decode(ProviderTask.self, from: JSONEncoder().encode(task))
        let (output, statuses) = try await pollToEnd(restored, provider: self.provider())
        XCTAssertEqual(statuses, ["PENDING", "RUNNING"])
        let file = try XCTUnwrap(output.files.first)
        XCTAssertEqual(file.mimeType, "video/mp4")
        XCTAssertTrue(file.path.hasSuffix(".mp4"))
        XCTAssertEqual(Data(fileBytes(file.path)), FakeAssets.mp4)
        XCTAssertEqual(output.usage.videoSeconds, 5)
        XCTAssertEqual(output.usage.videoResolution, "1280x720")
        XCTAssertEqual(output.usage.providerCredits, 25)
        XCTAssertEqual(output.providerRequestID, task.id)
        let download = try XCTUnwrap(fake.server.requests.last)
        XCTAssertTrue(download.path.hasPrefix("/cdn/"))
        XCTAssertNil(download.header("authorization"), "the key does not go to the CDN")
    }

    func testProgressIsReported() async throws {
        let provider = provider()
        var task = try await pending(try provider.submit(try imageToVideo("push in"), key: key))
        task = try await pending(try provider.poll(task, key: key))
        task = try await pending(try provider.poll(task, key: key))
        XCTAssertEqual(task.providerStatus, "RUNNING")
        XCTAssertEqual(task.progress, 0.42)
    }

    func testThrottledIsStillPending() async throws {
        let provider = provider()
        let task = try await pending(try provider.submit(try imageToVideo("__throttle__"), key: key))
        let value = try await pending(try provider.poll(task, key: key)).providerStatus
        XCTAssertEqual(value, "THROTTLED")
    }

    func testTextToImageAndTextToVideo() async throws {
        let provider = provider()
        let image = GenerationRequest(kind: .image, model: "gen4_image", prompt: "A red fox in snow",
                                      parameters: GenerationParameters(aspectRatio: "1920:1080"), outputDirectory: outputDirectory)
        let imageTask = try await pending(try provider.submit(image, key: key))
        XCTAssertEqual(imageTask.pollAfterSeconds, 2)
        let (imageOutput, _) = try await pollToEnd(imageTask, provider: provider)
        XCTAssertEqual(imageOutput.usage.images, 1)
        XCTAssertEqual(imageOutput.usage.imageSize, "1920x1080")
        XCTAssertEqual(imageOutput.files.first?.mimeType, "image/png")

        let video = GenerationRequest(kind: .video, model: "veo3.1_fast", prompt: "waves",
                                      parameters: GenerationParameters(durationSeconds: 6, aspectRatio: "1920:1080"),
                                      outputDirectory: outputDirectory)
        let videoTask = try await pending(try provider.submit(video, key: key))
        XCTAssertEqual(fake.server.requests.last?.path, "/v1/text_to_video")
        let value = try await pollToEnd(videoTask, provider: provider).0.usage.videoSeconds
        XCTAssertEqual(value, 6)
        let badDuration = GenerationRequest(kind: .video, model: "veo3.1", prompt: "waves",
                                            parameters: GenerationParameters(durationSeconds: 5), outputDirectory: outputDirectory)
        let kind = await expectProviderError { () async throws(ProviderError) in try await provider.submit(badDuration, key: key) }?.kind
        XCTAssertEqual(kind, .badRequest)
    }

    func testSafetyFailureIsAContentRefusal() async throws {
        let provider = provider()
        let task = try await pending(try provider.submit(try imageToVideo(Magic.refuse), key: key))
        let error = await expectProviderError { () async throws(ProviderError) in try await pollToEnd(task, provider: provider) }
        XCTAssertEqual(error?.kind, .contentRefused)
        XCTAssertEqual(error?.providerCode, "SAFETY.INPUT.TEXT")
        XCTAssertEqual(error?.isRetryable, false)
    }

    func testInternalFailureIsAGenerationFailure() async throws {
        let provider = provider()
        let task = try await pending(try provider.submit(try imageToVideo(Magic.fail), key: key))
        let error = await expectProviderError { () async throws(ProviderError) in try await pollToEnd(task, provider: provider) }
        XCTAssertEqual(error?.kind, .generationFailed)
        XCTAssertEqual(error?.providerCode, "INTERNAL.BAD_OUTPUT.CODE01")
    }

    func testCancelRunningTaskThenPollSeesCancelled() async throws {
        let provider = provider()
        let task = try await pending(try provider.submit(try imageToVideo("push in"), key: key))
        let outcome = try await provider.cancel(task, key: key)
        XCTAssertEqual(outcome, .cancelled)
        XCTAssertEqual(fake.server.requests.last?.method, "DELETE")
        let kind = await expectProviderError { () async throws(ProviderError) in try await provider.poll(task, key: key) }?.kind
        XCTAssertEqual(kind, .cancelled)
    }

    func testCancelAfterSuccessDoesNotDeleteTheTask() async throws {
        let provider = provider()
        let task = try await pending(try provider.submit(try imageToVideo("push in"), key: key))
        _ = try await pollToEnd(task, provider: provider)
        let outcome = try await provider.cancel(task, key: key)
        XCTAssertEqual(outcome, .alreadyFinished)
        XCTAssertFalse(fake.server.requests.contains { $0.method == "DELETE" })
    }

    func testSubmitIsRetriedOn429ButNotAfterATimeout() async throws {
        _ = try await pending(try provider().submit(try imageToVideo(Magic.rateLimited), key: key))
        XCTAssertEqual(fake.server.requests.count, 2)
        fake.server.clearRequests()
        let error = await expectProviderError { () async throws(ProviderError) in
            try await provider(timeout: 0.3).submit(try! imageToVideo(Magic.slow), key: key)
        }
        XCTAssertEqual(error?.kind, .timeout)
        XCTAssertEqual(fake.server.requests.count, 1, "a paid submit that may have arrived is not sent twice")
    }

    func testErrorsAndValidation() async throws {
        let quota = await expectProviderError { () async throws(ProviderError) in try await provider().submit(try! imageToVideo(Magic.quota), key: key) }
        XCTAssertEqual(quota?.kind, .quotaExhausted)
        XCTAssertEqual(expectProviderError { () throws(ProviderError) in
            try provider().validateKey(ProviderAPIKey(TestKeys.wrong))
        }?.kind, .invalidKey)
        let validation = try provider().validateKey(key)
        XCTAssertEqual(validation.account?.remaining, 12_500)
        XCTAssertEqual(validation.account?.unit, "credits")
        let noImage = GenerationRequest(kind: .imageToVideo, model: "gen4_turbo", prompt: "x", outputDirectory: outputDirectory)
        let kind = await expectProviderError { () async throws(ProviderError) in try await provider().submit(noImage, key: key) }?.kind
        XCTAssertEqual(kind, .badRequest)
    }
}

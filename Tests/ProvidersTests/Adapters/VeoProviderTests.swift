import Domain
import Foundation
@testable import Providers
import TestSupport
import XCTest

final class VeoProviderTests: ProviderTestCase {
    var fake: FakeVeo!
    let key = ProviderAPIKey(TestKeys.gemini)

    override func setUp() {
        super.setUp()
        fake = try! FakeVeo()
        _ = track(fake.server)
        _ = track(fake.storage)
    }

    var provider: VeoProvider { VeoProvider(baseURL: fake.baseURL, context: makeContext()) }

    func request(_ prompt: String, kind: MediaKind = .video, count: Int? = nil) -> GenerationRequest {
        var parameters = GenerationParameters(count: count, durationSeconds: 8, resolution: "1080p", aspectRatio: "16:9",
                                              negativePrompt: "cartoon")
        if kind == .imageToVideo {
            parameters.inputImage = .url("data:image/png;base64,\(FakeAssets.pngBase64)")
        }
        return GenerationRequest(kind: kind, model: "veo-3.1-generate-001", prompt: prompt, parameters: parameters,
                                 outputDirectory: outputDirectory)
    }

    func pending(_ result: ProviderResult) throws -> ProviderTask {
        guard case let .pending(task) = result else { throw TestSupportError("expected pending") }
        return task
    }

    func testLongRunningSubmitPollAndRedirectedDownload() async throws {
        let task = try await pending(try provider.submit(request("two people staring at a drawing", count: 2), key: key))
        XCTAssertTrue(task.id.hasPrefix("models/veo-3.1-generate-001/operations/"))
        XCTAssertEqual(task.pollAfterSeconds, 10)
        let sent = try XCTUnwrap(fake.server.requests.first)
        XCTAssertEqual(sent.path, "/v1beta/models/veo-3.1-generate-001:predictLongRunning")
        XCTAssertEqual(sent.bodyText,
                       #"{"instances":[{"prompt":"two people staring at a drawing"}],"parameters":{"aspectRatio":"16:9","resolution":"1080p","durationSeconds":8,"negativePrompt":"cartoon","sampleCount":2}}"#)

        let stillRunning = try await pending(try provider.poll(task, key: key))
        XCTAssertEqual(stillRunning.providerStatus, "RUNNING")
        guard case let .finished(output) = try await provider.poll(stillRunning, key: key) else { return XCTFail() }
        XCTAssertEqual(output.files.count, 2)
        for file in output.files {
            XCTAssertEqual(Data(fileBytes(file.path)), FakeAssets.mp4)
            XCTAssertEqual(file.mimeType, "video/mp4")
        }
        XCTAssertEqual(output.usage.videoSeconds, 16)
        XCTAssertEqual(output.usage.videoClips, 2)
        XCTAssertEqual(output.usage.videoResolution, "1080p")
        let downloads = fake.server.requests.filter { $0.path.hasPrefix("/v1beta/files/") }
        XCTAssertEqual(downloads.count, 2)
        XCTAssertTrue(downloads.allSatisfy { $0.header("x-goog-api-key") == TestKeys.gemini })
        XCTAssertEqual(fake.storage.requests.count, 2)
        XCTAssertTrue(fake.storage.requests.allSatisfy { $0.header("x-goog-api-key") == nil }, "storage never sees the key")
    }

    func testImageToVideoSendsTheFirstFrameInline() async throws {
        _ = try await pending(try provider.submit(request("zoom", kind: .imageToVideo), key: key))
        let image = fake.server.requests.first?.json?["instances"]?[0]?["image"]
        XCTAssertEqual(image?["bytesBase64Encoded"]?.string, FakeAssets.pngBase64)
        XCTAssertEqual(image?["mimeType"]?.string, "image/png")
        var remote = request("zoom", kind: .imageToVideo)
        remote.parameters.inputImage = .url("https://example.com/frame.png")
        let kind = await expectProviderError { () async throws(ProviderError) in try await provider.submit(remote, key: key) }?.kind
        XCTAssertEqual(kind, .badRequest)
    }

    func testOperationErrorAndSafetyFilter() async throws {
        let failing = try await pending(try provider.submit(request(Magic.fail), key: key))
        _ = try await provider.poll(failing, key: key)
        let failure = await expectProviderError { () async throws(ProviderError) in try await provider.poll(failing, key: key) }
        XCTAssertEqual(failure?.kind, .generationFailed)
        XCTAssertEqual(failure?.providerCode, "rpc_13")
        XCTAssertEqual(failure?.isRetryable, true)

        let filtered = try await pending(try provider.submit(request(Magic.refuse), key: key))
        _ = try await provider.poll(filtered, key: key)
        let refusal = await expectProviderError { () async throws(ProviderError) in try await provider.poll(filtered, key: key) }
        XCTAssertEqual(refusal?.kind, .contentRefused)
        XCTAssertEqual(refusal?.isRetryable, false)
    }

    func testInvalidKeyIsA400AndRetryDelayIsHonoured() async throws {
        let invalid = expectProviderError { () throws(ProviderError) in try provider.validateKey(ProviderAPIKey(TestKeys.wrong)) }
        XCTAssertEqual(invalid?.kind, .invalidKey)
        XCTAssertEqual(invalid?.httpStatus, 400)
        XCTAssertEqual(try provider.validateKey(key).checkedWith, "GET /v1beta/models")

        _ = try await pending(try provider.submit(request(Magic.rateLimited), key: key))
        XCTAssertEqual(sleeps.recorded, [3], "RetryInfo.retryDelay from the body")
    }

    func testConstraintsAndCancel() async throws {
        var short = request("x")
        short.parameters.durationSeconds = 4
        let kind = await expectProviderError { () async throws(ProviderError) in try await provider.submit(short, key: key) }?.kind
        XCTAssertEqual(kind, .badRequest)
        let task = ProviderTask(provider: .veo, id: "models/veo-3.1-generate-001/operations/x", kind: .video,
                                model: "veo-3.1-generate-001", pollAfterSeconds: 10, outputDirectory: outputDirectory)
        let outcome = try await provider.cancel(task, key: key)
        XCTAssertEqual(outcome, .notSupported)
        var hostile = task
        hostile = ProviderTask(provider: .veo, id: "../../evil", kind: .video, model: hostile.model, pollAfterSeconds: 10,
                               outputDirectory: outputDirectory)
        let failure = await expectProviderError { () async throws(ProviderError) in try await provider.poll(hostile, key: key) }?.kind
        XCTAssertEqual(failure, .badRequest)
        XCTAssertTrue(fake.server.requests.isEmpty)
    }
}

import Domain
import Foundation
@testable import Providers
import Synchronization
import XCTest

final class LocalProviderTests: ProviderTestCase {
    var provider: LocalProvider { LocalProvider(logger: logs.logger, toolTimeout: 60) }

    struct NotFinished: Error, CustomStringConvertible {
        let result: ProviderResult
        var description: String { "the local provider answered \(result) instead of a finished result" }
    }

    func finished(_ result: ProviderResult) throws -> GenerationOutput {
        guard case let .finished(output) = result else { throw NotFinished(result: result) }
        return output
    }

    func testTextIsDeterministicLabelledAndFree() async throws {
        let request = GenerationRequest(kind: .text, model: "offline-text", prompt: "Write a haiku about rain",
                                        parameters: GenerationParameters(systemPrompt: "Be brief."), outputDirectory: outputDirectory)
        let first = try await finished(try provider.submit(request, key: nil))
        let second = try await finished(try provider.submit(request, key: nil))
        XCTAssertEqual(first.text, second.text)
        XCTAssertTrue(first.text?.hasPrefix(OfflineText.label) ?? false)
        XCTAssertTrue(first.text?.contains("Write a haiku about rain") ?? false)
        XCTAssertTrue(first.isOffline)
        XCTAssertEqual(first.usage.providerReportedCostUSD, 0)
        XCTAssertEqual(first.notes, [LocalProvider.offlineNote])
        XCTAssertGreaterThan(first.usage.inputTokens, 0)
    }

    /// Cut at `max_output_tokens` with `length`, as a model is (it ran on past the limit with `stop`).
    func testTextStopsAtTheOutputLimitWithLength() async throws {
        let request = GenerationRequest(kind: .text, model: "offline-text", prompt: "Write a long story about the sea and the wind",
                                        parameters: GenerationParameters(maxOutputTokens: 5), outputDirectory: outputDirectory)
        let output = try await finished(try provider.submit(request, key: nil))
        XCTAssertEqual(output.finishReason, "length")
        XCTAssertLessThanOrEqual(output.usage.outputTokens, 5)
        XCTAssertEqual(output.text, String(OfflineText.label.prefix(20)))
        let roomy = GenerationRequest(kind: .text, model: "offline-text", prompt: "Hi",
                                      parameters: GenerationParameters(maxOutputTokens: 10_000), outputDirectory: outputDirectory)
        let roomyOutput = try await finished(try provider.submit(roomy, key: nil))
        XCTAssertEqual(roomyOutput.finishReason, "stop")
        XCTAssertEqual(OfflineText.truncated("é", toTokens: 0), "é", "never empty, never a broken character")
    }

    func testImageIsARealPNGOfTheRequestedSize() async throws {
        let request = GenerationRequest(kind: .image, model: "offline-image", prompt: "a lighthouse at dusk",
                                        parameters: GenerationParameters(size: "1024x768", count: 2), outputDirectory: outputDirectory)
        let output = try await finished(try provider.submit(request, key: nil))
        XCTAssertEqual(output.files.count, 2)
        let bytes = fileBytes(try XCTUnwrap(output.files.first).path)
        let png = try XCTUnwrap(MediaInspection.png(bytes), "PNG with valid chunk CRCs")
        XCTAssertEqual(png.width, 1024)
        XCTAssertEqual(png.height, 768)
        XCTAssertEqual(png.colourType, 2)
        XCTAssertEqual(png.chunkTypes, ["IHDR", "IDAT", "IEND"])
        let raw = try XCTUnwrap(png.rawScanlines, "zlib stream with a valid Adler-32")
        XCTAssertEqual(raw.count, 768 * (1024 * 3 + 1))
        XCTAssertEqual(output.files.first?.mimeType, "image/png")
        XCTAssertEqual(output.usage.images, 2)
        XCTAssertEqual(output.usage.imageSize, "1024x768")
        XCTAssertTrue(output.isOffline)
        XCTAssertNotEqual(fileBytes(output.files[0].path), fileBytes(output.files[1].path), "each image has its own seed")

        let again = try await finished(try provider.submit(request, key: nil))
        XCTAssertEqual(fileBytes(again.files[0].path), bytes, "the same prompt draws the same picture")
        var other = request
        other.prompt = "a different prompt"
        let value = await fileBytes(try finished(try provider.submit(other, key: nil)).files[0].path)
        XCTAssertNotEqual(value, bytes)
    }

    /// Offline images, speech and video take a place at the gate first: beyond its places they wait
    /// suspended (no provider thread held) instead of running, and go on once a place is free.
    func testHeavyOfflineWorkWaitsForAPlaceAtTheGate() async throws {
        let gated = LocalProvider(logger: logs.logger, toolTimeout: 60, heavyWorkAtOnce: 1)
        await gated.heavyWork.enter()
        let request = GenerationRequest(kind: .image, model: "offline-image", prompt: "a queue of lighthouses",
                                        parameters: GenerationParameters(size: "256x256"), outputDirectory: outputDirectory)
        let work = Task { try await gated.submit(request, key: nil) }
        try await Task.sleep(for: .milliseconds(300))
        XCTAssertEqual(gated.heavyWork.waiting, 1, "the image waits while the only place is taken")
        gated.heavyWork.leave()
        guard case .finished(let output) = try await work.value else { return XCTFail("expected a finished image") }
        XCTAssertEqual(output.files.count, 1)
        XCTAssertEqual(gated.heavyWork.waiting, 0)
        // Its place was given back: the next one runs at once.
        guard case .finished = try await gated.submit(request, key: nil) else { return XCTFail("expected a finished image") }
    }

    func testAGateLetsWaitersInInArrivalOrder() async throws {
        final class Order: Sendable { let entered = Mutex<[Int]>([]) }
        let gate = AsyncGate(permits: 1)
        let order = Order()
        await gate.enter()
        var tasks: [Task<Void, Never>] = []
        for index in 0..<3 {
            tasks.append(Task {
                await gate.enter()
                order.entered.withLock { $0.append(index) }
                gate.leave()
            })
            while gate.waiting < index + 1 { try await Task.sleep(for: .milliseconds(5)) }
        }
        gate.leave()
        for task in tasks { await task.value }
        XCTAssertEqual(order.entered.withLock { $0 }, [0, 1, 2])
        XCTAssertEqual(gate.waiting, 0)
    }

    func testPNGWriterChecksums() {
        // Known values: Adler-32("Wikipedia") = 0x11E60398; CRC-32("IEND") = 0xAE426082.
        XCTAssertEqual(PNGWriter.adler32(Array("Wikipedia".utf8)), 0x11E6_0398)
        XCTAssertEqual(PNGWriter.crc32(Array("IEND".utf8)), 0xAE42_6082)
        // More than one stored block (65 535 bytes each).
        let big = PNGWriter.encode(width: 200, height: 200, rgb: [UInt8](repeating: 7, count: 200 * 200 * 3))
        XCTAssertEqual(MediaInspection.png([UInt8](big))?.rawScanlines?.count, 200 * 601)
    }

    func testSpeechIsAWAVWithNonZeroSamples() async throws {
        try requireTool("espeak-ng")
        let request = GenerationRequest(kind: .audio, model: "offline-speech", prompt: "-v this starts with a dash, hello world",
                                        parameters: GenerationParameters(voice: "en-us"), outputDirectory: outputDirectory)
        let output = try await finished(try provider.submit(request, key: nil))
        let file = try XCTUnwrap(output.files.first)
        XCTAssertEqual(file.mimeType, "audio/wav")
        let bytes = fileBytes(file.path)
        let wav = try XCTUnwrap(WAVInfo.parse(bytes))
        XCTAssertGreaterThan(wav.dataLength, 1000)
        XCTAssertTrue(bytes[wav.dataOffset..<(wav.dataOffset + wav.dataLength)].contains { $0 != 0 }, "silence only")
        XCTAssertGreaterThan(file.durationSeconds ?? 0, 0.5)
        XCTAssertEqual(output.usage.characters, request.prompt.count)
        XCTAssertEqual(output.usage.providerReportedCostUSD, 0)
    }

    func testSpeechConvertsToMP3WithFFmpeg() async throws {
        try requireTool("espeak-ng")
        try requireTool("ffmpeg")
        let request = GenerationRequest(kind: .audio, model: "offline-speech", prompt: "hello",
                                        parameters: GenerationParameters(outputFormat: "mp3"), outputDirectory: outputDirectory)
        let value = try await finished(try provider.submit(request, key: nil)).files.first
        let file = try XCTUnwrap(value)
        XCTAssertEqual(file.mimeType, "audio/mpeg")
        let bytes = fileBytes(file.path)
        XCTAssertTrue(bytes.starts(with: Array("ID3".utf8)) || (bytes.count > 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0))
    }

    func testVideoIsAnMP4WithAVideoStream() async throws {
        try requireTool("ffmpeg")
        let request = GenerationRequest(kind: .video, model: "offline-video", prompt: "waves on a beach",
                                        parameters: GenerationParameters(size: "640x360", durationSeconds: 1),
                                        outputDirectory: outputDirectory)
        let output = try await finished(try provider.submit(request, key: nil))
        let file = try XCTUnwrap(output.files.first)
        let bytes = fileBytes(file.path)
        XCTAssertNotNil(MediaInspection.mp4Brand(bytes))
        XCTAssertEqual(MediaInspection.mp4TrackHandlers(bytes), ["vide"])
        XCTAssertEqual(output.usage.videoSeconds, 1)
        XCTAssertEqual(output.usage.videoResolution, "640x360")
        XCTAssertTrue(output.isOffline)
    }

    func testImageToVideoUsesTheGivenImage() async throws {
        try requireTool("ffmpeg")
        let still = outputDirectory + "/still.png"
        try PNGWriter.encode(width: 64, height: 48, rgb: [UInt8](repeating: 200, count: 64 * 48 * 3))
            .write(to: URL(fileURLWithPath: still))
        let request = GenerationRequest(kind: .imageToVideo, model: "offline-image-to-video", prompt: "slow zoom",
                                        parameters: GenerationParameters(size: "512x512", durationSeconds: 1,
                                                                         inputImage: .file(path: still, mimeType: "image/png")),
                                        outputDirectory: outputDirectory)
        let value = try await finished(try provider.submit(request, key: nil)).files.first
        let file = try XCTUnwrap(value)
        XCTAssertEqual(MediaInspection.mp4TrackHandlers(fileBytes(file.path)), ["vide"])
    }

    func testMissingToolsRemoveCapabilitiesInsteadOfFakingThem() async throws {
        let bare = LocalProvider(environment: ["PATH": "/nonexistent"], logger: logs.logger)
        let capabilities = bare.capabilities()
        XCTAssertEqual(capabilities.kinds, [.text, .image])
        XCTAssertFalse(capabilities.requiresKey)
        XCTAssertTrue(capabilities.isOffline)
        XCTAssertTrue(capabilities.notes.contains("audio: espeak-ng not found on PATH"))
        XCTAssertTrue(capabilities.notes.contains("video and image_to_video: ffmpeg not found on PATH"))
        let speech = GenerationRequest(kind: .audio, model: "offline-speech", prompt: "hi", outputDirectory: outputDirectory)
        let error = await expectProviderError { () async throws(ProviderError) in try await bare.submit(speech, key: nil) }
        XCTAssertEqual(error?.kind, .unsupported)
        XCTAssertTrue(error?.message.contains("espeak-ng") ?? false)
        let video = GenerationRequest(kind: .video, model: "offline-video", prompt: "hi", outputDirectory: outputDirectory)
        let kind = await expectProviderError { () async throws(ProviderError) in try await bare.submit(video, key: nil) }?.kind
        XCTAssertEqual(kind, .unsupported)
    }

    func testNoKeyNeededAndAlwaysHealthy() throws {
        XCTAssertEqual(try provider.validateKey(nil).provider, .local)
        XCTAssertEqual(provider.healthCheck(key: nil).status, .up)
    }
}

import Domain
import Foundation

/// The offline provider: no key, no network, no cost, and every result says so. Text and images
/// are made in-process; speech uses `espeak-ng`, video and other audio formats use `ffmpeg`,
/// each only when found on PATH.
public struct LocalProvider: MediaProvider {
    public let id = ProviderID.local
    let espeak: String?
    let ffmpeg: String?
    let logger: ProviderLogger
    /// Longest a tool may run before it is killed.
    let toolTimeout: Double
    /// Images, speech and video run a few at a time: each holds a provider thread (the tools run
    /// synchronously) for up to `toolTimeout`, and the provider threads serve every user's calls,
    /// so free offline work queued by one user must not take them all. The rest wait suspended.
    let heavyWork: AsyncGate
    private let builtCapabilities: ProviderCapabilities

    static let offlineNote = "offline: generated locally, no provider was called, no cost"

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, logger: ProviderLogger = .standardError,
                toolTimeout: Double = 120, heavyWorkAtOnce: Int = 2) {
        let locator = ToolLocator(environment: environment)
        self.espeak = locator.find("espeak-ng")
        self.ffmpeg = locator.find("ffmpeg")
        self.logger = logger
        self.toolTimeout = toolTimeout
        self.heavyWork = AsyncGate(permits: heavyWorkAtOnce)
        self.builtCapabilities = LocalCatalog.capabilities(espeak: espeak, ffmpeg: ffmpeg)
    }

    /// Fixed by the tools found at start: built once (the router asks on every request).
    public func capabilities() -> ProviderCapabilities { builtCapabilities }

    public func validateKey(_ key: ProviderAPIKey?) throws(ProviderError) -> KeyValidation {
        KeyValidation(provider: id, checkedWith: "nothing: the local provider needs no key")
    }

    public func healthCheck(key: ProviderAPIKey?) -> ProviderHealth {
        let tools = ["espeak-ng": espeak, "ffmpeg": ffmpeg].sorted { $0.key < $1.key }
            .map { "\($0.key) \($0.value == nil ? "missing" : "found")" }.joined(separator: ", ")
        return ProviderHealth(provider: id, status: .up, latencyMilliseconds: 0, detail: tools)
    }

    public func submit(_ request: GenerationRequest, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        guard capabilities().supports(request.kind) else {
            let missing = request.kind == .audio ? "espeak-ng" : "ffmpeg"
            throw ProviderError(.unsupported, provider: id,
                                message: "offline \(request.kind.rawValue) needs \(missing), which is not installed on this machine")
        }
        _ = try AdapterSupport.validated(request, against: capabilities())
        if request.kind != .text { await heavyWork.enter() }
        defer { if request.kind != .text { heavyWork.leave() } }
        let started = Date()
        let output: GenerationOutput
        switch request.kind {
        case .text: output = text(request)
        case .image: output = try image(request)
        case .audio: output = try speech(request)
        case .video, .imageToVideo: output = try video(request)
        }
        logger.log(.info, "provider.local", provider: id, ["kind": request.kind.rawValue,
                                                            "duration_ms": String(Int(Date().timeIntervalSince(started) * 1000))])
        return .finished(output)
    }

    /// The offline text in several pieces (a word and the space after it each), as a model
    /// streams: a streaming client sees the same shape it gets from a real provider.
    public func submitStreaming(_ request: GenerationRequest, key: ProviderAPIKey?,
                                sink: TextDeltaSink) async throws(ProviderError) -> ProviderResult {
        guard request.kind == .text else { return try await submit(request, key: key) }
        let result = try await submit(request, key: key)
        if case .finished(let output) = result {
            var piece = ""
            for character in output.text ?? "" {
                if character.isWhitespace == false, piece.last?.isWhitespace == true {
                    sink.delta(piece)
                    piece = ""
                }
                piece.append(character)
            }
            if !piece.isEmpty { sink.delta(piece) }
            sink.end(output.finishReason)
        }
        return result
    }

    public func poll(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        throw ProviderError(.unsupported, provider: id, message: "local generations finish synchronously; there is nothing to poll")
    }

    public func cancel(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> CancelOutcome {
        .notSupported
    }

    func finished(_ request: GenerationRequest, text: String? = nil, files: [OutputFile] = [], usage: NormalisedUsage,
                  finishReason: String = "stop") -> GenerationOutput {
        var free = usage
        free.providerReportedCostUSD = 0
        return GenerationOutput(provider: id, model: request.model, kind: request.kind, text: text, files: files, usage: free,
                                finishReason: finishReason, isOffline: true, notes: [Self.offlineNote])
    }

    // MARK: - Text

    func text(_ request: GenerationRequest) -> GenerationOutput {
        var reply = OfflineText.compose(prompt: request.prompt, systemPrompt: request.parameters.systemPrompt,
                                        maxWords: request.parameters.maxOutputTokens)
        // Cut at the output limit as a model is, so a client's handling of `length` can be tried offline.
        var finishReason = "stop"
        if let limit = request.parameters.maxOutputTokens, OfflineText.approximateTokens(reply) > limit {
            reply = OfflineText.truncated(reply, toTokens: limit)
            finishReason = "length"
        }
        let input = OfflineText.approximateTokens((request.parameters.systemPrompt ?? "") + request.prompt)
        return finished(request, text: reply, usage: NormalisedUsage(inputTokens: input, outputTokens: OfflineText.approximateTokens(reply)),
                        finishReason: finishReason)
    }

    // MARK: - Image

    func image(_ request: GenerationRequest) throws(ProviderError) -> GenerationOutput {
        let size = request.parameters.size ?? "512x512"
        guard let (width, height) = OpenAIProvider.dimensions(size) else {
            throw ProviderError(.badRequest, provider: id, message: "size must be WIDTHxHEIGHT")
        }
        var files: [OutputFile] = []
        for index in 0..<(request.parameters.count ?? 1) {
            let png = drawPNG(request.prompt, width: width, height: height, seed: (request.parameters.seed ?? 0) + index)
            let path = try AdapterSupport.outputPath(in: request.outputDirectory, fileExtension: "png", provider: id)
            try AdapterSupport.write(png, to: path, provider: id)
            files.append(OutputFile(path: path, mimeType: "image/png", byteCount: Int64(png.count), width: width, height: height))
        }
        return finished(request, files: files, usage: NormalisedUsage(
            images: files.count, imageSize: size, megapixels: Decimal(width) * Decimal(height) * Decimal(files.count) / 1_000_000))
    }

    func drawPNG(_ prompt: String, width: Int, height: Int, seed: Int) -> Data {
        PNGWriter.encode(width: width, height: height, rgb: PromptArt.render(prompt: prompt, width: width, height: height, seed: seed))
    }

    // MARK: - Speech

    /// espeak-ng reads the prompt from a file (`-f`): passed as an argument, a prompt starting
    /// with `-` would be taken for an option.
    func speech(_ request: GenerationRequest) throws(ProviderError) -> GenerationOutput {
        guard let espeak else { throw ProviderError(.unsupported, provider: id, message: "espeak-ng is not installed") }
        let work = try workFolder()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let textPath = work + "/prompt.txt"
        let wavPath = work + "/speech.wav"
        try AdapterSupport.write(Data(request.prompt.utf8), to: textPath, provider: id)
        let speed = request.parameters.speed ?? 1
        let wordsPerMinute = Int(truncating: NSDecimalNumber(decimal: 175 * speed))
        let voice = request.parameters.voice ?? "en"
        try runTool(espeak, ["-v", voice, "-s", String(wordsPerMinute), "-w", wavPath, "-f", textPath], what: "espeak-ng")

        let format = request.parameters.outputFormat ?? "wav"
        let finalPath = try AdapterSupport.outputPath(in: request.outputDirectory, fileExtension: format, provider: id)
        let seconds = WAVInfo.parse((try? [UInt8](Data(contentsOf: URL(fileURLWithPath: wavPath)))) ?? [])?.durationSeconds
        if format == "wav" {
            do {
                try FileManager.default.moveItem(atPath: wavPath, toPath: finalPath)
            } catch {
                throw ProviderError(.generationFailed, provider: id, message: "cannot move the audio file", retryOverride: false)
            }
        } else {
            guard let ffmpeg else { throw ProviderError(.unsupported, provider: id, message: "\(format) needs ffmpeg") }
            let codec: [String] = switch format {
            case "mp3": ["-c:a", "libmp3lame", "-q:a", "4"]
            case "flac": ["-c:a", "flac"]
            default: ["-c:a", "libvorbis", "-q:a", "4"]
            }
            try runTool(ffmpeg, ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", "file:" + wavPath] + codec
                            + ["file:" + finalPath],
                        what: "ffmpeg")
        }
        let mime = format == "ogg" ? "audio/ogg" : AdapterSupport.mimeType(forExtension: format)
        let file = OutputFile(path: finalPath, mimeType: mime, byteCount: AdapterSupport.fileSize(finalPath), durationSeconds: seconds)
        return finished(request, files: [file], usage: NormalisedUsage(
            audioSeconds: seconds.flatMap(Self.milliseconds), characters: request.prompt.unicodeScalars.count))
    }

    /// Seconds rounded to milliseconds, or nil for a length no real file has (the WAV header is
    /// read from a file an external tool wrote, so its numbers are bounded before `Int` sees them).
    static func milliseconds(_ seconds: Double) -> Decimal? {
        guard seconds.isFinite, seconds >= 0, seconds <= 86_400 else { return nil }
        return Decimal(Int((seconds * 1000).rounded())) / 1000
    }

    // MARK: - Video

    /// A still (drawn from the prompt, or the given image) turned into a short H.264 clip with a
    /// fade-in, so players show real motion.
    func video(_ request: GenerationRequest) throws(ProviderError) -> GenerationOutput {
        guard let ffmpeg else { throw ProviderError(.unsupported, provider: id, message: "ffmpeg is not installed") }
        let size = request.parameters.size ?? "640x360"
        guard let (width, height) = OpenAIProvider.dimensions(size) else {
            throw ProviderError(.badRequest, provider: id, message: "size must be WIDTHxHEIGHT")
        }
        let seconds = request.parameters.durationSeconds ?? 3
        let work = try workFolder()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let stillPath: String
        switch (request.kind, request.parameters.inputImage) {
        case let (.imageToVideo, .file(path, _)?):
            stillPath = path
        case let (.imageToVideo, reference?):
            let (bytes, mimeType) = try AdapterSupport.imageBytes(reference, provider: id)
            stillPath = work + "/input." + (AdapterSupport.fileExtension(forMIME: mimeType) ?? "png")
            try AdapterSupport.write(bytes, to: stillPath, provider: id)
        default:
            stillPath = work + "/still.png"
            try AdapterSupport.write(drawPNG(request.prompt, width: width, height: height, seed: request.parameters.seed ?? 0),
                                     to: stillPath, provider: id)
        }
        let outputPath = try AdapterSupport.outputPath(in: request.outputDirectory, fileExtension: "mp4", provider: id)
        let filter = "scale=\(width):\(height):force_original_aspect_ratio=decrease,"
            + "pad=\(width):\(height):(ow-iw)/2:(oh-ih)/2,fade=t=in:st=0:d=\(min(1, Double(seconds) / 2)),format=yuv420p"
        // `file:` keeps ffmpeg from treating a path as a URL: the local provider never uses the network.
        let common = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-loop", "1", "-framerate", "24",
                      "-i", "file:" + stillPath, "-t", String(seconds), "-vf", filter, "-an"]
        do {
            try runTool(ffmpeg, common + ["-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", "file:" + outputPath],
                        what: "ffmpeg")
        } catch {
            // An ffmpeg built without libx264 still has its own MPEG-4 Part 2 encoder.
            try runTool(ffmpeg, common + ["-c:v", "mpeg4", "-q:v", "5", "-movflags", "+faststart", "file:" + outputPath], what: "ffmpeg")
        }
        let file = OutputFile(path: outputPath, mimeType: "video/mp4", byteCount: AdapterSupport.fileSize(outputPath),
                              width: width, height: height, durationSeconds: Double(seconds))
        return finished(request, files: [file], usage: NormalisedUsage(videoSeconds: Decimal(seconds), videoClips: 1,
                                                                                videoResolution: size))
    }

    // MARK: - Tools

    func workFolder() throws(ProviderError) -> String {
        let path = NSTemporaryDirectory() + "mw-local-\(UUID().lowercasedString)"
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ProviderError(.generationFailed, provider: id, message: "cannot create a work folder", retryOverride: false)
        }
        return path
    }

    func runTool(_ executable: String, _ arguments: [String], what: String) throws(ProviderError) {
        let outcome = ProcessRunner.run(executable, arguments, timeout: toolTimeout)
        guard outcome.status == 0 else {
            let reason = outcome.timedOut ? "timed out after \(Int(toolTimeout)) s" : "exited with \(outcome.status)"
            logger.log(.warning, "provider.local.tool", provider: id, ["tool": what, "outcome": reason])
            throw ProviderError(outcome.timedOut ? .timeout : .generationFailed, provider: id,
                                message: "\(what) \(reason): \(outcome.output.trimmingCharacters(in: .whitespacesAndNewlines))",
                                retryOverride: false)
        }
    }
}

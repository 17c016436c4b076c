import Domain
import Foundation

/// OpenAI: chat completions, gpt-image generation and speech (providers.md §1).
public struct OpenAIProvider: MediaProvider {
    public let id = ProviderID.openai
    let baseURL: String
    let http: ProviderHTTP
    let capabilityList: PricedCapabilities

    public init(baseURL: String, context: AdapterContext) {
        self.baseURL = baseURL
        self.http = context.http(.openai, mapError: OpenAIErrors.map)
        self.capabilityList = PricedCapabilities(priceList: context.priceList, build: OpenAICatalog.capabilities(priceList:))
    }

    /// Built once per price list (`PricedCapabilities`).
    public func capabilities() -> ProviderCapabilities { capabilityList.current() }

    func headers(_ key: ProviderAPIKey) -> [RequestHeader] {
        [.secret("Authorization", "Bearer \(key.plaintext)")]
    }

    /// `GET /models` is free and answers 401 for a bad key (providers.md §1.4).
    public func validateKey(_ key: ProviderAPIKey?) throws(ProviderError) -> KeyValidation {
        let key = try AdapterSupport.requireKey(key, for: id)
        let url = baseURL + "/models"
        _ = try http.sendJSON(AdapterSupport.jsonRequest(.get, url, headers: headers(key)), secrets: [key.plaintext])
        return KeyValidation(provider: id, checkedWith: AdapterSupport.describe(.get, url))
    }

    public func healthCheck(key: ProviderAPIKey?) -> ProviderHealth {
        let headers = key.map(headers) ?? []
        return AdapterSupport.probe(http, AdapterSupport.jsonRequest(.get, baseURL + "/models", headers: headers),
                                    secrets: key.map { [$0.plaintext] } ?? [])
    }

    public func submit(_ request: GenerationRequest, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        let key = try AdapterSupport.requireKey(key, for: id)
        _ = try AdapterSupport.validated(request, against: capabilities())
        switch request.kind {
        case .text: return .finished(try await chat(request, key: key))
        case .image: return .finished(try await image(request, key: key))
        case .audio: return .finished(try await speech(request, key: key))
        case .video, .imageToVideo:
            throw ProviderError(.unsupported, provider: id, message: "OpenAI generates no \(request.kind.rawValue) here")
        }
    }

    public func poll(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        throw ProviderError(.unsupported, provider: id, message: "OpenAI calls finish synchronously; there is nothing to poll")
    }

    public func cancel(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> CancelOutcome {
        .notSupported
    }

    // MARK: - Chat

    /// Usage: `prompt_tokens` includes cached tokens; `ChatCompletions.usage` splits them out.
    /// A refusal in a 200 is billed, so it comes back finished with `finishReason` "refusal" and
    /// a `content_refused` note rather than as an error that would lose the usage.
    func chat(_ request: GenerationRequest, key: ProviderAPIKey) async throws(ProviderError) -> GenerationOutput {
        let secrets = [key.plaintext]
        let body = ChatCompletions.body(for: request, tokenLimitField: "max_completion_tokens")
        // Billed once it arrives: sent again only when it certainly never did (`mayHaveBeenBilled`).
        let call = AdapterSupport.jsonRequest(.post, baseURL + "/chat/completions", headers: headers(key), body: body)
        let (json, response) = try await http.sendJSON(call, secrets: secrets)
        return textOutput(try ChatCompletions.parse(json, http: http, response: response, secrets: secrets), request, response)
    }

    /// A finished chat, streamed or not.
    private func textOutput(_ parsed: ChatCompletions.Parsed, _ request: GenerationRequest, _ response: OutboundResponse) -> GenerationOutput {
        GenerationOutput(provider: id, model: parsed.model ?? request.model, kind: .text, text: parsed.text,
                         usage: parsed.usage, providerRequestID: response.headers["x-request-id"] ?? parsed.id,
                         finishReason: parsed.finishReason, notes: parsed.refused ? ["content_refused"] : [],
                         rateLimits: response.headers.rateLimits)
    }

    /// The same chat, streamed: `stream_options.include_usage` makes the last chunk carry the
    /// usage, so the charge is as exact as the non-streamed answer's.
    public func submitStreaming(_ request: GenerationRequest, key: ProviderAPIKey?,
                                sink: TextDeltaSink) async throws(ProviderError) -> ProviderResult {
        guard request.kind == .text else { return try await submit(request, key: key) }
        let key = try AdapterSupport.requireKey(key, for: id)
        _ = try AdapterSupport.validated(request, against: capabilities())
        let secrets = [key.plaintext]
        let call = ChatCompletions.streamingRequest(baseURL + "/chat/completions", headers: headers(key),
                                                    body: ChatCompletions.body(for: request, tokenLimitField: "max_completion_tokens"))
        let stream = TextStream(.chatCompletions, sink: sink)
        let response = try await http.sendStreaming(call, to: stream, secrets: secrets)
        return .finished(textOutput(try ChatCompletions.parse(stream, http: http, response: response, secrets: secrets), request, response))
    }

    // MARK: - Images

    /// gpt-image models always answer with base64 images inside the JSON (providers.md §1.2).
    func image(_ request: GenerationRequest, key: ProviderAPIKey) async throws(ProviderError) -> GenerationOutput {
        let secrets = [key.plaintext]
        // The catalog's defaults are sent, not left to OpenAI (whose own size default is `auto`):
        // the request made is the one quoted.
        let parameters = capabilities().model(request.model, kind: .image)?.withDefaults(request.parameters) ?? request.parameters
        let format = parameters.outputFormat ?? "png"
        var body = WireJSONObject()
        body["model"] = .string(request.model)
        body["prompt"] = .string(request.prompt)
        body["n"] = parameters.count.map(WireJSON.int)
        body["size"] = parameters.size.map(WireJSON.string)
        body["quality"] = parameters.quality.map(WireJSON.string)
        body["output_format"] = parameters.outputFormat.map(WireJSON.string)
        let call = AdapterSupport.jsonRequest(.post, baseURL + "/images/generations", headers: headers(key),
                                              body: .object(body),
                                              maxResponseBytes: http.configuration.maxInlineMediaResponseBytes)
        let (json, response) = try await http.sendJSON(call, secrets: secrets)
        guard let items = json["data"]?.array, !items.isEmpty else {
            throw http.malformed("image response without data", response: response, secrets: secrets)
        }
        var files: [OutputFile] = []
        let size = json["size"]?.string ?? parameters.size
        let dimensions = size.flatMap(Self.dimensions)
        for item in items {
            if let encoded = item["b64_json"]?.string {
                guard let data = Data(base64Encoded: encoded) else {
                    throw http.malformed("b64_json is not base64", response: response, secrets: secrets)
                }
                let ext = format == "jpeg" ? "jpg" : format
                let path = try AdapterSupport.outputPath(in: request.outputDirectory, fileExtension: ext, provider: id)
                try AdapterSupport.write(data, to: path, provider: id)
                files.append(OutputFile(path: path, mimeType: AdapterSupport.mimeType(forExtension: ext),
                                        byteCount: Int64(data.count), width: dimensions?.0, height: dimensions?.1))
            } else if let url = item["url"]?.string {
                // Only the retired dall-e models answered with URLs; kept so an old proxy still works.
                var file = try await AdapterSupport.download(url, http: http, outputDirectory: request.outputDirectory,
                                                       defaultExtension: "png", providerBaseURL: baseURL, secrets: secrets)
                file = OutputFile(path: file.path, mimeType: file.mimeType, byteCount: file.byteCount,
                                  width: dimensions?.0, height: dimensions?.1)
                files.append(file)
            } else {
                throw http.malformed("image item without b64_json or url", response: response, secrets: secrets)
            }
        }
        // Usage splits text from image tokens (§1.2): they are priced differently. Without the
        // details, input is taken as text and output as image tokens, which is what they are.
        let usage = json["usage"]
        let inputDetails = usage?["input_tokens_details"]
        let outputDetails = usage?["output_tokens_details"]
        return GenerationOutput(
            provider: id, model: request.model, kind: .image, files: files,
            usage: NormalisedUsage(inputTokens: inputDetails?["text_tokens"]?.count ?? usage?["input_tokens"]?.count ?? 0,
                                   outputTokens: outputDetails?["text_tokens"]?.count ?? 0,
                                   imageInputTokens: inputDetails?["image_tokens"]?.count ?? 0,
                                   imageOutputTokens: outputDetails?["image_tokens"]?.count ?? usage?["output_tokens"]?.count ?? 0,
                                   images: files.count, imageSize: size,
                                   imageQuality: json["quality"]?.string ?? parameters.quality),
            providerRequestID: response.headers["x-request-id"], rateLimits: response.headers.rateLimits)
    }

    /// `WIDTHxHEIGHT` with each side in 1...65536 (`ReportedNumbers`), from a response or a request.
    static func dimensions(_ size: String) -> (Int, Int)? {
        ReportedNumbers.dimensions(size).map { ($0.width, $0.height) }
    }

    // MARK: - Speech

    /// The answer is raw audio, streamed to the output file. No usage comes back: tts-1/-hd bill
    /// per input character, so `characters` is the usage (providers.md §1.3).
    func speech(_ request: GenerationRequest, key: ProviderAPIKey) async throws(ProviderError) -> GenerationOutput {
        let secrets = [key.plaintext]
        let parameters = request.parameters
        let format = parameters.outputFormat ?? "mp3"
        var body = WireJSONObject()
        body["model"] = .string(request.model)
        body["input"] = .string(request.prompt)
        body["voice"] = .string(parameters.voice ?? "alloy")
        body["response_format"] = .string(format)
        body["speed"] = parameters.speed.map(WireJSON.decimal)
        let path = try AdapterSupport.outputPath(in: request.outputDirectory, fileExtension: format, provider: id)
        var call = AdapterSupport.jsonRequest(.post, baseURL + "/audio/speech", headers: headers(key), body: .object(body))
        call.destination = .file(path)
        call.isAtMostOnce = true
        call.headers.removeAll { $0.name == "Accept" }
        let response = try await http.send(call, secrets: secrets)
        let mime = response.headers["content-type"].flatMap(AdapterSupport.mediaType) ?? AdapterSupport.mimeType(forExtension: format)
        return GenerationOutput(
            provider: id, model: request.model, kind: .audio,
            files: [OutputFile(path: path, mimeType: mime, byteCount: response.bodyByteCount)],
            usage: NormalisedUsage(characters: request.prompt.unicodeScalars.count),
            providerRequestID: response.headers["x-request-id"], rateLimits: response.headers.rateLimits)
    }
}

import Domain
import Foundation

/// Google Veo on the Gemini API: `predictLongRunning`, operation polling, and the download that
/// needs redirects (providers.md §6).
public struct VeoProvider: MediaProvider {
    public let id = ProviderID.veo
    let baseURL: String
    let http: ProviderHTTP
    let capabilityList: PricedCapabilities

    public init(baseURL: String, context: AdapterContext) {
        self.baseURL = baseURL
        self.http = context.http(.veo, mapError: VeoErrors.map)
        self.capabilityList = PricedCapabilities(priceList: context.priceList, build: VeoCatalog.capabilities(priceList:))
    }

    /// Built once per price list (`PricedCapabilities`).
    public func capabilities() -> ProviderCapabilities { capabilityList.current() }

    func headers(_ key: ProviderAPIKey) -> [RequestHeader] {
        [.secret("x-goog-api-key", key.plaintext)]
    }

    public func validateKey(_ key: ProviderAPIKey?) throws(ProviderError) -> KeyValidation {
        let key = try AdapterSupport.requireKey(key, for: id)
        let url = baseURL + "/models"
        _ = try http.sendJSON(AdapterSupport.jsonRequest(.get, url, headers: headers(key)), secrets: [key.plaintext])
        return KeyValidation(provider: id, checkedWith: AdapterSupport.describe(.get, url))
    }

    public func healthCheck(key: ProviderAPIKey?) -> ProviderHealth {
        AdapterSupport.probe(http, AdapterSupport.jsonRequest(.get, baseURL + "/models", headers: key.map(headers) ?? []),
                             secrets: key.map { [$0.plaintext] } ?? [])
    }

    public func submit(_ request: GenerationRequest, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        let key = try AdapterSupport.requireKey(key, for: id)
        let model = try AdapterSupport.validated(request, against: capabilities())
        let parameters = request.parameters
        let resolution = parameters.resolution ?? model.parameter(.resolution)?.defaultValue ?? "720p"
        let duration = parameters.durationSeconds ?? 8
        if resolution != "720p" && duration != 8 {
            throw ProviderError(.badRequest, provider: id, message: "\(resolution) requires duration_seconds 8")
        }
        var instance = WireJSONObject()
        instance["prompt"] = .string(request.prompt)
        if request.kind == .imageToVideo, let image = parameters.inputImage {
            // The Gemini API takes the first frame inline; storage URIs are not allowed (§6.1).
            let (bytes, mimeType) = try AdapterSupport.imageBytes(image, provider: id)
            instance["image"] = ["bytesBase64Encoded": .string(bytes.base64EncodedString()), "mimeType": .string(mimeType)]
        }
        var settings = WireJSONObject()
        settings["aspectRatio"] = .string(parameters.aspectRatio ?? "16:9")
        settings["resolution"] = .string(resolution)
        settings["durationSeconds"] = .int(duration)
        settings["negativePrompt"] = parameters.negativePrompt.map(WireJSON.string)
        settings["sampleCount"] = parameters.count.map(WireJSON.int)
        let body: WireJSON = ["instances": [.object(instance)], "parameters": .object(settings)]
        let escapedModel = request.model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? request.model
        let call = AdapterSupport.jsonRequest(.post, baseURL + "/models/\(escapedModel):predictLongRunning",
                                              headers: headers(key), body: body, idempotent: false)
        let (json, response) = try await http.sendJSON(call, secrets: [key.plaintext])
        guard let name = json["name"]?.string, Self.isOperationName(name) else {
            throw http.malformed("predictLongRunning answered without an operation name", response: response,
                                 secrets: [key.plaintext])
        }
        return .pending(ProviderTask(provider: id, id: name, kind: request.kind, model: request.model,
                                     pollAfterSeconds: VeoCatalog.pollInterval, outputDirectory: request.outputDirectory,
                                     context: ["duration": String(duration), "resolution": resolution,
                                               "aspect_ratio": parameters.aspectRatio ?? "16:9"],
                                     providerStatus: "RUNNING"))
    }

    /// Operation names are appended to the base URL, so anything that could step outside it is refused.
    static func isOperationName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("..") && !name.contains("://") && !name.hasPrefix("/")
            && name.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
    }

    public func poll(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        let key = try AdapterSupport.requireKey(key, for: id)
        let secrets = [key.plaintext]
        guard Self.isOperationName(task.id) else {
            throw ProviderError(.badRequest, provider: id, message: "not a Veo operation name")
        }
        let (json, response) = try await http.sendJSON(AdapterSupport.jsonRequest(.get, baseURL + "/" + task.id, headers: headers(key)),
                                                 secrets: secrets)
        // `done` absent means false (§6.2).
        guard json["done"]?.bool == true else {
            var next = task
            next.providerStatus = "RUNNING"
            return .pending(next)
        }
        if let error = json["error"], error.object != nil {
            throw VeoErrors.operationFailure(error, operation: task.id)
        }
        let result = json["response"]?["generateVideoResponse"]
        let uris = result?["generatedSamples"]?.array?.compactMap { $0["video"]?["uri"]?.string } ?? []
        guard !uris.isEmpty else {
            if (result?["raiMediaFilteredCount"]?.int ?? 0) > 0 {
                let reasons = result?["raiMediaFilteredReasons"]?.array?.compactMap(\.string) ?? []
                throw ProviderError(.contentRefused, provider: id,
                                    message: reasons.isEmpty ? "the video was filtered by safety checks" : reasons.joined(separator: "; "),
                                    providerCode: "RAI_MEDIA_FILTERED", providerRequestID: task.id, scrubbing: secrets)
            }
            throw http.malformed("finished operation without generated samples", response: response, secrets: secrets)
        }
        var files: [OutputFile] = []
        for uri in uris {
            files.append(try await download(uri, task: task, key: key))
        }
        let seconds = ReportedNumbers.seconds(Decimal(string: task.context["duration"] ?? "")) ?? 0
        return .finished(GenerationOutput(
            provider: id, model: task.model, kind: task.kind, files: files,
            usage: NormalisedUsage(videoSeconds: seconds * Decimal(files.count), videoClips: files.count,
                                   videoResolution: task.context["resolution"]),
            providerRequestID: task.id))
    }

    /// The file URI answers with a redirect to storage (§6.2). The key goes with the request only
    /// when the URI is on the API's own origin, and the client drops it at any redirect that
    /// leaves that origin.
    func download(_ uri: String, task: ProviderTask, key: ProviderAPIKey) async throws(ProviderError) -> OutputFile {
        let sameOrigin = URL(string: uri).flatMap { target in URL(string: baseURL).map { CurlClient.sameOrigin($0, target) } } ?? false
        return try await AdapterSupport.download(uri, http: http, outputDirectory: task.outputDirectory, defaultExtension: "mp4",
                                           headers: sameOrigin ? headers(key) : [], maxRedirects: 5, providerBaseURL: baseURL,
                                           secrets: [key.plaintext])
    }

    /// The Gemini API exposes no cancel for model operations; the caller stops polling.
    public func cancel(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> CancelOutcome {
        .notSupported
    }
}

import Domain
import Foundation

/// FAL's queue API: submit, status, and result through the URLs returned at submit
/// (providers.md §7.1).
public struct FALProvider: MediaProvider {
    public let id = ProviderID.fal
    let queueURL: String
    let apiURL: String
    let http: ProviderHTTP
    let capabilityList: PricedCapabilities

    public init(queueURL: String, apiURL: String, context: AdapterContext) {
        self.queueURL = queueURL
        self.apiURL = apiURL
        self.http = context.http(.fal, mapError: FALErrors.map)
        self.capabilityList = PricedCapabilities(priceList: context.priceList, build: FALCatalog.capabilities(priceList:))
    }

    /// Built once per price list (`PricedCapabilities`).
    public func capabilities() -> ProviderCapabilities { capabilityList.current() }

    /// The queue takes any endpoint id: one the lists do not know is offered with FAL's common
    /// inputs, unpriced (admitted only where the project accepts unpriced spend).
    public func capability(for model: String, kind: MediaKind) -> ModelCapability? {
        capabilities().model(model, kind: kind) ?? (FALCatalog.isEndpointID(model) ? FALCatalog.generic(model, kind: kind) : nil)
    }

    func headers(_ key: ProviderAPIKey) -> [RequestHeader] {
        [.secret("Authorization", "Key \(key.plaintext)")]
    }

    /// The pricing lookup needs a valid key and spends nothing (§7.3; its answer's shape is
    /// unverified, so only the status is used).
    public func validateKey(_ key: ProviderAPIKey?) throws(ProviderError) -> KeyValidation {
        let key = try AdapterSupport.requireKey(key, for: id)
        let url = apiURL + "/models/pricing?endpoint_id=fal-ai/flux/dev"
        _ = try http.send(AdapterSupport.jsonRequest(.get, url, headers: headers(key)), secrets: [key.plaintext])
        return KeyValidation(provider: id, checkedWith: AdapterSupport.describe(.get, url))
    }

    public func healthCheck(key: ProviderAPIKey?) -> ProviderHealth {
        AdapterSupport.probe(http, AdapterSupport.jsonRequest(.get, apiURL + "/models/pricing?endpoint_id=fal-ai/flux/dev",
                                                              headers: key.map(headers) ?? []),
                             secrets: key.map { [$0.plaintext] } ?? [])
    }

    public func submit(_ request: GenerationRequest, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        let key = try AdapterSupport.requireKey(key, for: id)
        let offered = capability(for: request.model, kind: request.kind).map { [$0] } ?? []
        let model = try AdapterSupport.validated(request, against: capabilities().adding(offered))
        let secrets = [key.plaintext]
        let parameters = request.parameters
        var input = WireJSONObject()
        input["prompt"] = .string(request.prompt)
        var context: [String: String] = [:]
        switch request.kind {
        case .image:
            input["image_size"] = parameters.size.map(WireJSON.string)
            input["num_images"] = parameters.count.map(WireJSON.int)
            input["seed"] = parameters.seed.map(WireJSON.int)
            input["output_format"] = parameters.outputFormat.map(WireJSON.string)
        case .imageToVideo:
            guard let image = parameters.inputImage else {
                throw ProviderError(.badRequest, provider: id, message: "input_image is required")
            }
            input["image_url"] = .string(try AdapterSupport.imageURL(image, provider: id))
            let duration = parameters.durationSeconds ?? model.parameter(.durationSeconds)?.defaultValue.flatMap(Int.init) ?? 5
            // Kling takes the duration as a string ("5" | "10").
            input["duration"] = .string(String(duration))
            input["negative_prompt"] = parameters.negativePrompt.map(WireJSON.string)
            context["duration"] = String(duration)
        case .text, .video, .audio:
            throw ProviderError(.unsupported, provider: id, message: "FAL models here generate no \(request.kind.rawValue)")
        }
        let call = AdapterSupport.jsonRequest(.post, queueURL + "/" + request.model, headers: headers(key),
                                              body: .object(input), idempotent: false)
        let (json, response) = try await http.sendJSON(call, secrets: secrets)
        guard let requestID = json["request_id"]?.string, !requestID.isEmpty else {
            throw http.malformed("queue submit answered without request_id", response: response, secrets: secrets)
        }
        let fallback = Self.queueURLs(base: queueURL, model: request.model, requestID: requestID)
        var urls: [String: String] = [:]
        for (name, field) in [("status", "status_url"), ("response", "response_url"), ("cancel", "cancel_url")] {
            urls[name] = trusted(json[field]?.string) ?? fallback[name]
        }
        return .pending(ProviderTask(provider: id, id: requestID, kind: request.kind, model: request.model,
                                     pollAfterSeconds: FALCatalog.pollInterval(for: request.kind), urls: urls,
                                     outputDirectory: request.outputDirectory, context: context, providerStatus: "IN_QUEUE"))
    }

    /// A returned URL is used only if it is on the configured queue origin: the key is sent to
    /// it, so a surprising host in a response must not receive it.
    func trusted(_ url: String?) -> String? {
        guard let url, let target = URL(string: url), let base = URL(string: queueURL), CurlClient.sameOrigin(base, target) else {
            return nil
        }
        return url
    }

    /// Status, result and cancel live under the app's root, without the model's subpath
    /// (`fal-ai/flux/dev` → `fal-ai/flux`); namespaced apps keep three segments (§7.1).
    static func queueURLs(base: String, model: String, requestID: String) -> [String: String] {
        let segments = model.split(separator: "/").map(String.init)
        let keep = ["workflows", "comfy"].contains(segments.first ?? "") ? 3 : 2
        let root = segments.prefix(keep).joined(separator: "/")
        let escaped = requestID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? requestID
        let request = "\(base)/\(root)/requests/\(escaped)"
        return ["status": request + "/status", "response": request, "cancel": request + "/cancel"]
    }

    func taskURL(_ task: ProviderTask, _ name: String) -> String {
        trusted(task.urls[name]) ?? Self.queueURLs(base: queueURL, model: task.model, requestID: task.id)[name] ?? ""
    }

    public func poll(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        let key = try AdapterSupport.requireKey(key, for: id)
        let secrets = [key.plaintext]
        let (json, response) = try await http.sendJSON(AdapterSupport.jsonRequest(.get, taskURL(task, "status"), headers: headers(key)),
                                                 secrets: secrets)
        let status = json["status"]?.string ?? ""
        switch status {
        case "IN_QUEUE", "IN_PROGRESS":
            var next = task
            next.providerStatus = status
            return .pending(next)
        case "COMPLETED":
            // COMPLETED means finished, not succeeded: the result call may answer with an error.
            let (result, resultResponse) = try await http.sendJSON(
                AdapterSupport.jsonRequest(.get, taskURL(task, "response"), headers: headers(key)), secrets: secrets)
            return .finished(try await finish(task, result: result, response: resultResponse, secrets: secrets))
        default:
            // Unknown statuses (FAILED, CANCELED in some schemas) end the task (providers.md §7.1).
            let message = json["error"]?.string ?? json["detail"]?.string ?? "FAL request ended with status \(status)"
            throw ProviderError(status == "CANCELED" || status == "CANCELLED" ? .cancelled : .generationFailed,
                                provider: id, message: message, httpStatus: response.status,
                                providerCode: json["error_type"]?.string ?? status, providerRequestID: task.id,
                                scrubbing: secrets)
        }
    }

    func finish(_ task: ProviderTask, result: WireJSON, response: OutboundResponse, secrets: [String]) async throws(ProviderError) -> GenerationOutput {
        var files: [OutputFile] = []
        var usage = NormalisedUsage()
        var notes: [String] = []
        if task.kind == .image {
            guard let images = result["images"]?.array, !images.isEmpty else {
                throw http.malformed("result without images", response: response, secrets: secrets)
            }
            // Decimal: each side is bounded, but a sum over many images is kept out of Int entirely.
            var pixels = Decimal(0)
            // No request asks for more (`QuoteRequest.maximumCount`): an app answering with more
            // URLs (a user's own `owner/app`) does not get more downloads out of this server.
            for image in images.prefix(QuoteRequest.maximumCount) {
                guard let url = image["url"]?.string else { continue }
                let width = ReportedNumbers.pixelSide(image["width"]?.int)
                let height = ReportedNumbers.pixelSide(image["height"]?.int)
                let ext = image["content_type"]?.string.flatMap(AdapterSupport.fileExtension(forMIME:)) ?? "jpg"
                let file = try await AdapterSupport.download(url, http: http, outputDirectory: task.outputDirectory,
                                                       defaultExtension: ext, providerBaseURL: queueURL, secrets: secrets)
                files.append(OutputFile(path: file.path, mimeType: file.mimeType, byteCount: file.byteCount,
                                        width: width, height: height))
                pixels += Decimal(width ?? 0) * Decimal(height ?? 0)
            }
            usage.images = files.count
            if let first = files.first, let width = first.width, let height = first.height { usage.imageSize = "\(width)x\(height)" }
            // Raw megapixels (10⁶ px); rounding to billing units is the pricing catalog's business.
            usage.megapixels = pixels > 0 ? pixels / 1_000_000 : nil
            if result["has_nsfw_concepts"]?.array?.contains(.bool(true)) == true { notes.append("nsfw_filtered") }
        } else {
            guard let url = result["video"]?["url"]?.string else {
                throw http.malformed("result without video.url", response: response, secrets: secrets)
            }
            files.append(try await AdapterSupport.download(url, http: http, outputDirectory: task.outputDirectory,
                                                     defaultExtension: "mp4", providerBaseURL: queueURL, secrets: secrets))
            usage.videoSeconds = ReportedNumbers.seconds(Decimal(string: task.context["duration"] ?? ""))
            usage.videoClips = 1
        }
        return GenerationOutput(provider: id, model: task.model, kind: task.kind, files: files, usage: usage,
                                providerRequestID: task.id, notes: notes)
    }

    /// `PUT cancel_url`. FAL's queue reference answers with a `status`: `OK` (the request was
    /// still queued and is removed: it never runs), `CANCELLATION_REQUESTED` (202: a runner has it
    /// and is signalled to stop; the app decides whether it does), `ALREADY_COMPLETED` (400) or
    /// `NOT_FOUND`. Older descriptions answer 202 `CANCELLATION_REQUESTED` for a queued request
    /// too; any answer other than `OK` is read as a signalled runner, the one that may bill.
    public func cancel(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> CancelOutcome {
        let key = try AdapterSupport.requireKey(key, for: id)
        do {
            let (json, _) = try await http.sendJSON(OutboundRequest(method: .put, url: taskURL(task, "cancel"), headers: headers(key)),
                                                    secrets: [key.plaintext])
            return Self.cancelOutcome(json["status"]?.string)
        } catch where error.providerCode == "ALREADY_COMPLETED" {
            return .alreadyFinished
        }
    }

    /// A 2xx cancel answer's `status` as a cancel outcome.
    static func cancelOutcome(_ status: String?) -> CancelOutcome {
        switch status {
        case "OK": .removedFromQueue
        case "ALREADY_COMPLETED": .alreadyFinished
        default: .stopRequested
        }
    }
}

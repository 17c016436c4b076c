import Domain
import Foundation

/// Runway's developer API: image_to_video, text_to_video, text_to_image as tasks, polled at
/// `/v1/tasks/{id}`, cancelled with DELETE (providers.md §5).
public struct RunwayProvider: MediaProvider {
    public let id = ProviderID.runway
    static let apiVersion = "2024-11-06"
    let baseURL: String
    let http: ProviderHTTP

    public init(baseURL: String, context: AdapterContext) {
        self.baseURL = baseURL
        self.http = context.http(.runway, mapError: RunwayErrors.map)
    }

    public func capabilities() -> ProviderCapabilities { RunwayCatalog.capabilities }

    func headers(_ key: ProviderAPIKey) -> [RequestHeader] {
        [.secret("Authorization", "Bearer \(key.plaintext)"), RequestHeader("X-Runway-Version", Self.apiVersion)]
    }

    /// `GET /v1/organization`: free, and returns the credit balance (§5.5).
    public func validateKey(_ key: ProviderAPIKey?) throws(ProviderError) -> KeyValidation {
        let key = try AdapterSupport.requireKey(key, for: id)
        let url = baseURL + "/v1/organization"
        let (json, _) = try http.sendJSON(AdapterSupport.jsonRequest(.get, url, headers: headers(key)), secrets: [key.plaintext])
        return KeyValidation(provider: id, checkedWith: AdapterSupport.describe(.get, url), account: AccountSummary(
            unit: "credits", limit: json["tier"]?["maxMonthlyCreditSpend"]?.decimal, remaining: json["creditBalance"]?.decimal))
    }

    public func healthCheck(key: ProviderAPIKey?) -> ProviderHealth {
        var headers = [RequestHeader("X-Runway-Version", Self.apiVersion)]
        if let key { headers = self.headers(key) }
        return AdapterSupport.probe(http, AdapterSupport.jsonRequest(.get, baseURL + "/v1/organization", headers: headers),
                                    secrets: key.map { [$0.plaintext] } ?? [])
    }

    public func submit(_ request: GenerationRequest, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        let key = try AdapterSupport.requireKey(key, for: id)
        let model = try AdapterSupport.validated(request, against: capabilities())
        let secrets = [key.plaintext]
        let parameters = request.parameters
        let ratio = parameters.aspectRatio ?? model.parameter(.aspectRatio)?.defaultValue ?? ""
        var body = WireJSONObject()
        body["model"] = .string(request.model)
        let path: String
        var context = ["ratio": ratio]
        switch request.kind {
        case .imageToVideo, .video:
            let duration = parameters.durationSeconds ?? model.parameter(.durationSeconds)?.defaultValue.flatMap(Int.init) ?? 5
            context["duration"] = String(duration)
            if request.kind == .imageToVideo, let image = parameters.inputImage {
                body["promptImage"] = .string(try AdapterSupport.imageURL(image, provider: id))
                path = "/v1/image_to_video"
            } else {
                path = "/v1/text_to_video"
            }
            body["promptText"] = .string(request.prompt)
            body["ratio"] = .string(ratio)
            body["duration"] = .int(duration)
            // Sound changes the price, so the value quoted (the catalog's default when the request has none) is sent.
            if let audio = model.withDefaults(parameters).audio { body["audio"] = .bool(audio) }
        case .image:
            path = "/v1/text_to_image"
            body["promptText"] = .string(request.prompt)
            body["ratio"] = .string(ratio)
            if let image = parameters.inputImage {
                body["referenceImages"] = [["uri": .string(try AdapterSupport.imageURL(image, provider: id)), "tag": "ref1"]]
            }
        case .text, .audio:
            throw ProviderError(.unsupported, provider: id, message: "Runway generates no \(request.kind.rawValue)")
        }
        body["seed"] = parameters.seed.map(WireJSON.int)
        // A submit starts a paid task: it is not repeated unless it certainly never arrived.
        let call = AdapterSupport.jsonRequest(.post, baseURL + path, headers: headers(key), body: .object(body), idempotent: false)
        let (json, response) = try await http.sendJSON(call, secrets: secrets)
        guard let taskID = json["id"]?.string, !taskID.isEmpty else {
            throw http.malformed("task creation answered without an id", response: response, secrets: secrets)
        }
        return .pending(ProviderTask(provider: id, id: taskID, kind: request.kind, model: request.model,
                                     pollAfterSeconds: RunwayCatalog.pollInterval(for: request.kind),
                                     outputDirectory: request.outputDirectory, context: context, providerStatus: "PENDING"))
    }

    public func poll(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        let key = try AdapterSupport.requireKey(key, for: id)
        let secrets = [key.plaintext]
        let (json, response) = try await fetchTask(task.id, key: key)
        let status = json["status"]?.string ?? ""
        switch status {
        case "PENDING", "THROTTLED", "RUNNING":
            var next = task
            next.providerStatus = status
            next.progress = ReportedNumbers.progress(json["progress"]?.double) ?? task.progress
            return .pending(next)
        case "SUCCEEDED":
            return .finished(try await finish(task, json: json, response: response, secrets: secrets))
        case "FAILED":
            throw RunwayErrors.taskFailure(code: json["failureCode"]?.string, message: json["failure"]?.string, taskID: task.id)
        case "CANCELLED":
            throw ProviderError(.cancelled, provider: id, message: "the Runway task was cancelled", providerRequestID: task.id)
        default:
            throw http.malformed("unknown task status \"\(status)\"", response: response, secrets: secrets)
        }
    }

    func fetchTask(_ taskID: String, key: ProviderAPIKey) async throws(ProviderError) -> (WireJSON, OutboundResponse) {
        let escaped = taskID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? taskID
        return try await http.sendJSON(AdapterSupport.jsonRequest(.get, baseURL + "/v1/tasks/\(escaped)", headers: headers(key)),
                                 secrets: [key.plaintext])
    }

    /// Output URLs expire within a day or two (§5.4), so they are downloaded now. They are CDN
    /// URLs: the key is not sent to them.
    func finish(_ task: ProviderTask, json: WireJSON, response: OutboundResponse, secrets: [String]) async throws(ProviderError) -> GenerationOutput {
        guard let urls = json["output"]?.array?.compactMap(\.string), !urls.isEmpty else {
            throw http.malformed("SUCCEEDED task without output", response: response, secrets: secrets)
        }
        var files: [OutputFile] = []
        for url in urls {
            files.append(try await AdapterSupport.download(url, http: http, outputDirectory: task.outputDirectory,
                                                     defaultExtension: task.kind == .image ? "png" : "mp4", providerBaseURL: baseURL,
                                                     secrets: secrets))
        }
        let ratio = task.context["ratio"]
        let size = ratio.map { $0.replacingOccurrences(of: ":", with: "x") }
        var usage = NormalisedUsage()
        if task.kind == .image {
            usage.images = files.count
            usage.imageSize = size
        } else {
            let seconds = ReportedNumbers.seconds(Decimal(string: task.context["duration"] ?? "")) ?? 0
            usage.videoSeconds = seconds * Decimal(files.count)
            usage.videoClips = files.count
            usage.videoResolution = size
        }
        if let credits = json["estimatedCost"]?["credits"]?.amount {
            usage.providerCredits = credits
            usage.providerCreditUnit = "runway_credits"
        }
        return GenerationOutput(provider: id, model: task.model, kind: task.kind, files: files, usage: usage,
                                providerRequestID: task.id)
    }

    /// DELETE cancels a running task but deletes a finished one (§5.4), so the task is read
    /// first: a finished task is left alone for `poll` to collect.
    public func cancel(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> CancelOutcome {
        let key = try AdapterSupport.requireKey(key, for: id)
        let (json, _) = try await fetchTask(task.id, key: key)
        guard let status = json["status"]?.string, ["PENDING", "THROTTLED", "RUNNING"].contains(status) else {
            return .alreadyFinished
        }
        let escaped = task.id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? task.id
        _ = try await http.send(OutboundRequest(method: .delete, url: baseURL + "/v1/tasks/\(escaped)", headers: headers(key)),
                          secrets: [key.plaintext])
        return .cancelled
    }
}

import Foundation

/// Veo on the Gemini API (providers.md §6): predictLongRunning starts an operation, polling the
/// operation name advances it (done:false, then done:true with generatedSamples), and each sample's
/// file URI answers with a 302 to storage, as the real one does. Errors are google.rpc.Status; a
/// bad key is a 400. Base URL: `<origin>/veo/v1beta`.
///
/// `refused` finishes with no samples and raiMediaFilteredCount 1; `task_failed` finishes with
/// an operation error (code 13).
struct VeoFake: ProviderFake {
    let name = "veo"
    /// `/veo` alone serves the storage that file downloads redirect to.
    let prefixes = ["/veo/v1beta", "/veo"]

    func route(method: String, path: String) -> String? {
        let parts = Self.segments(path)
        switch (method, parts.count, parts.first) {
        case ("GET", 1, "models"): return "GET /v1beta/models"
        case ("GET", 2, "models"): return "GET /v1beta/models/{model}"
        case ("POST", 2, "models") where path.hasSuffix(":predictLongRunning"): return "POST /v1beta/models/{model}:predictLongRunning"
        case ("GET", 4, "models") where parts[safe: 2] == "operations": return "GET /v1beta/{operation}"
        case ("POST", 4, "models") where parts[safe: 2] == "operations" && path.hasSuffix(":cancel"): return "POST /v1beta/{operation}:cancel"
        case ("GET", 2, "files") where path.hasSuffix(":download"): return "GET /v1beta/files/{file}:download"
        case ("GET", 2, "_storage"): return "GET /_storage/{file}"
        default: return nil
        }
    }

    func credential(_ request: FakeRequest) -> String? { request.header("x-goog-api-key") ?? request.query["key"] }

    func authenticate(_ request: FakeRequest, route: String) -> FakeResponse? {
        guard route != "GET /_storage/{file}" else { return nil }
        guard let key = credential(request), !key.isEmpty else {
            return status(403, "PERMISSION_DENIED",
                          "Method doesn't allow unregistered callers (callers without established identity). "
                                  + "Please use API Key or other form of API consumer identity to call this API.")
        }
        return nil
    }

    func status(_ code: Int, _ status: String, _ message: String, details: [JSONValue] = [],
                headers: [(String, String)] = []) -> FakeResponse {
        var error: [(String, JSONValue)] = [("code", .int(code)), ("message", .string(message)), ("status", .string(status))]
        if !details.isEmpty { error.append(("details", .array(details))) }
        return .json(code, ["error": .object(error)], headers: headers)
    }

    func error(_ error: FakeError) -> FakeResponse {
        switch error {
        case let .badRequest(message): return status(400, "INVALID_ARGUMENT", message)
        case .unauthorized:
            return status(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", details: [
                ["@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                 "metadata": ["service": "generativelanguage.googleapis.com"]]])
        case .forbidden: return status(403, "PERMISSION_DENIED", "The caller does not have permission")
        case let .notFound(message):
            return status(404, "NOT_FOUND", "models/veo-fake is not found for API version v1beta. (\(message))")
        case let .rateLimited(seconds):
            let delay = seconds.rounded() == seconds ? "\(Int(seconds))s" : "\(seconds)s"
            return status(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", details: [
                ["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": .string(delay)]],
                headers: [("retry-after", Self.retryAfterHeader(seconds))])
        case .quotaExhausted:
            return status(429, "RESOURCE_EXHAUSTED",
                          "You exceeded your current quota, please check your plan and billing details.", details: [
                ["@type": "type.googleapis.com/google.rpc.QuotaFailure",
                 "violations": [["quotaMetric": "generativelanguage.googleapis.com/predict_long_running_requests",
                                 "quotaId": "PredictLongRunningRequestsPerDayPerProjectPerModel"]]]])
        case .serverError: return status(500, "INTERNAL", "An internal error has occurred. Please retry or report in "
                + "https://developers.generativeai.google/guide/troubleshooting")
        case .unavailable, .overloaded: return status(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        case .tooLarge: return status(400, "INVALID_ARGUMENT", "Request payload size exceeds the limit.")
        }
    }

    func commonHeaders(route: String, status: Int) -> [(String, String)] {
        [("x-goog-request-id", FakeIDs.uuid().replacingOccurrences(of: "-", with: ""))]
    }

    func respond(_ call: FakeCall) -> FakeResponse {
        let parts = Self.segments(call.path)
        switch call.route {
        case "GET /v1beta/models":
            return .json(200, ["models": .array(["veo-3.1-generate-001", "veo-3.1-fast-generate-001", "veo-3.1-lite-generate-001"].map(Self.model))])
        case "GET /v1beta/models/{model}":
            return .json(200, Self.model(String((parts.last ?? "").prefix(128))))
        case "POST /v1beta/models/{model}:predictLongRunning":
            return submit(call, model: String((parts.last ?? "").dropLast(":predictLongRunning".count)))
        case "GET /v1beta/{operation}":
            return poll(call, id: parts.last ?? "", model: parts[safe: 1] ?? "")
        case "POST /v1beta/{operation}:cancel":
            let id = String((parts.last ?? "").dropLast(":cancel".count))
            guard FakeIDs.isPlausible(id), call.tasks.update(provider: name, id: id, { $0.cancelled = true }) != nil else {
                return status(404, "NOT_FOUND", "Operation not found.")
            }
            return .json(200, [:])
        case "GET /v1beta/files/{file}:download":
            let file = String((parts.last ?? "").dropLast(":download".count))
            guard FakeIDs.isPlausible(file) else { return status(404, "NOT_FOUND", "File not found.") }
            let storage = call.request.origin + "/veo/_storage/\(file).mp4"
            return FakeResponse(status: 302, headers: [("Location", storage)])
        default:
            let file = parts.last ?? ""
            guard let (bytes, mime) = Assets.file(named: file) else { return status(404, "NOT_FOUND", "No such object.") }
            return .bytes(bytes, contentType: mime)
        }
    }

    static func model(_ id: String) -> JSONValue {
        ["name": .string("models/\(id)"), "version": "3.1", "displayName": .string(id),
         "supportedGenerationMethods": ["predictLongRunning"]]
    }

    private func submit(_ call: FakeCall, model: String) -> FakeResponse {
        guard model.hasPrefix("veo-"), FakeIDs.isPlausible(model.replacingOccurrences(of: ".", with: "_")) else {
            return error(.notFound("unknown model"))
        }
        guard let json = call.json, let instance = json["instances"]?.array?.first else {
            return error(.badRequest("* PredictLongRunningRequest.instances: instances is required"))
        }
        guard let prompt = instance["prompt"]?.string, !prompt.isEmpty else {
            return error(.badRequest("* instances[0].prompt: prompt is required"))
        }
        let parameters = json["parameters"]
        let duration = parameters?["durationSeconds"].map { $0.int(in: 1...60) } ?? 8
        guard let duration, [4, 6, 8].contains(duration) else {
            return error(.badRequest("The number value for `durationSeconds` is out of bound. Supported values: 4, 6, 8."))
        }
        let samples = parameters?["sampleCount"].map { $0.int(in: 1...4) } ?? 1
        guard let samples else { return error(.badRequest("sampleCount must be between 1 and 4.")) }
        let resolution = parameters?["resolution"]?.string ?? "720p"
        guard ["720p", "1080p", "4k"].contains(resolution) else { return error(.badRequest("Unsupported resolution.")) }
        if resolution != "720p" && duration != 8 {
            return error(.badRequest("\(resolution) videos require durationSeconds 8."))
        }
        let id = FakeIDs.uuid().replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        call.tasks.create(FakeTask(provider: name, id: id, kind: "video", model: model, behavior: call.behavior.name,
                                   createdAt: Date(),
                                   facts: ["duration": String(duration), "samples": String(samples), "resolution": resolution]))
        return .json(200, ["name": .string("models/\(model)/operations/\(id)")])
    }

    private func poll(_ call: FakeCall, id: String, model: String) -> FakeResponse {
        guard FakeIDs.isPlausible(id), let task = call.tasks.poll(provider: name, id: id), task.model == model else {
            return status(404, "NOT_FOUND", "Operation not found.")
        }
        let operation = JSONValue.string("models/\(task.model)/operations/\(task.id)")
        if task.cancelled {
            return .json(200, ["name": operation, "done": true, "error": ["code": 1, "message": "Operation was cancelled."]])
        }
        guard task.polls >= 2 else { return .json(200, ["name": operation, "done": false]) }
        switch task.behavior {
        case .taskFailed:
            return .json(200, ["name": operation, "done": true,
                               "error": ["code": 13, "message": "Video generation failed due to an internal error."]])
        case .refused:
            return .json(200, ["name": operation, "done": true, "response": [
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                "generateVideoResponse": ["raiMediaFilteredCount": 1, "raiMediaFilteredReasons": [
                    "Unable to generate videos because the prompt could violate our policies. (fake: refused)"]]]])
        default:
            let count = Int(task.facts["samples"] ?? "") ?? 1
            let samples = (0..<count).map { index -> JSONValue in
                ["video": ["uri": .string("\(call.base)/files/\(task.id)-\(index):download?alt=media")]]
            }
            return .json(200, ["name": operation, "done": true, "response": [
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                "generateVideoResponse": ["generatedSamples": .array(samples), "raiMediaFilteredCount": 0,
                                          "raiMediaFilteredReasons": []]]])
        }
    }
}

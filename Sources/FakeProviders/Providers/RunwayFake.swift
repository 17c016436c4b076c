import Foundation

/// Runway's developer API (providers.md §5): tasks created by image_to_video, text_to_video and
/// text_to_image, polled at /v1/tasks/{id} one state per poll, cancelled or deleted with DELETE;
/// outputs served from `/_cdn/` without auth, like the real CDN. Base URL: `<origin>/runway`.
///
/// Poll states: PENDING → RUNNING(progress 0.5) → SUCCEEDED; `throttled` starts with THROTTLED;
/// `refused` ends FAILED with SAFETY.INPUT.TEXT; `task_failed` ends FAILED with INTERNAL.BAD_OUTPUT.CODE01.
struct RunwayFake: ProviderFake {
    let name = "runway"
    let prefixes = ["/runway"]
    static let version = "2024-11-06"

    func route(method: String, path: String) -> String? {
        let parts = Self.segments(path)
        switch (method, path) {
        case ("GET", "/v1/organization"): return "GET /v1/organization"
        case ("POST", "/v1/image_to_video"): return "POST /v1/image_to_video"
        case ("POST", "/v1/text_to_video"): return "POST /v1/text_to_video"
        case ("POST", "/v1/text_to_image"): return "POST /v1/text_to_image"
        default: break
        }
        if parts.count == 3, parts.first == "v1", parts[safe: 1] == "tasks" {
            switch method {
            case "GET": return "GET /v1/tasks/{id}"
            case "DELETE": return "DELETE /v1/tasks/{id}"
            default: return nil
            }
        }
        if method == "GET", parts.count == 3, parts.first == "_cdn" { return "GET /_cdn/{task}/{file}" }
        return nil
    }

    func credential(_ request: FakeRequest) -> String? { Self.bearer(request) }

    func authenticate(_ request: FakeRequest, route: String) -> FakeResponse? {
        if route == "GET /_cdn/{task}/{file}" {
            // Signed CDN URLs refuse a second credential; an adapter that sends its key here leaks it.
            return request.header("authorization") == nil ? nil
                : .json(400, ["error": "Only one auth mechanism allowed; the URL is already signed"])
        }
        guard request.header("x-runway-version") == Self.version else {
            return body(400, "The X-Runway-Version header is required and must be \(Self.version).")
        }
        guard let key = credential(request), !key.isEmpty else { return body(401, "Authentication failed: no API key provided.") }
        return nil
    }

    func body(_ status: Int, _ message: String, headers: [(String, String)] = []) -> FakeResponse {
        .json(status, ["error": .string(message)], headers: headers)
    }

    func error(_ error: FakeError) -> FakeResponse {
        switch error {
        case let .badRequest(message):
            return .json(400, ["error": .string(message), "issues": [["path": ["promptText"], "message": .string(message)]]])
        case .unauthorized: return body(401, "The API key you provided is incorrect.")
        case .forbidden: return body(403, "This API key does not have access to this model.")
        case let .notFound(message): return body(404, "Not found. (\(message))")
        case let .rateLimited(seconds):
            return body(429, "You have exceeded the rate limit for this model. Please retry later.",
                        headers: [("retry-after", Self.retryAfterHeader(seconds))])
        case .quotaExhausted: return body(400, "You do not have enough credits to run this task.")
        case .serverError: return body(500, "An unexpected error occurred.")
        case .unavailable: return body(503, "Runway is shedding load; please retry.")
        case .overloaded: return body(504, "Runway is overloaded; please retry.")
        case .tooLarge: return body(413, "Request body too large.")
        }
    }

    func respond(_ call: FakeCall) -> FakeResponse {
        switch call.route {
        case "GET /v1/organization":
            return .json(200, ["creditBalance": 12_500,
                               "tier": ["maxMonthlyCreditSpend": 100_000,
                                        "models": ["gen4_turbo": ["maxConcurrentGenerations": 2, "maxDailyGenerations": 200]]],
                               "usage": ["models": ["gen4_turbo": ["dailyGenerations": 3]]]])
        case "GET /v1/tasks/{id}":
            return poll(call)
        case "DELETE /v1/tasks/{id}":
            return cancel(call)
        case "GET /_cdn/{task}/{file}":
            let file = Self.segments(call.path).last ?? ""
            guard let (bytes, mime) = Assets.file(named: file) else { return body(404, "Not found") }
            return .bytes(bytes, contentType: mime)
        default:
            return submit(call)
        }
    }

    private func submit(_ call: FakeCall) -> FakeResponse {
        guard let json = call.json else { return error(.badRequest("Invalid JSON body")) }
        guard let model = json["model"]?.string, !model.isEmpty else { return error(.badRequest("model: Required")) }
        let kind = String(call.route.dropFirst("POST /v1/".count))
        let prompt = json["promptText"]?.string ?? ""
        guard prompt.utf16.count <= 1000 else { return error(.badRequest("promptText: String must contain at most 1000 character(s)")) }
        guard let ratio = json["ratio"]?.string, ratio.contains(":"), ratio.count <= 16 else {
            return error(.badRequest("ratio: Required"))
        }
        var facts = ["ratio": ratio, "model": model]
        switch kind {
        case "text_to_image":
            guard !prompt.isEmpty else { return error(.badRequest("promptText: Required")) }
            if model == "gen4_image_turbo" && json["referenceImages"]?.array?.isEmpty != false {
                return error(.badRequest("referenceImages: Required for gen4_image_turbo"))
            }
        default:
            if kind == "image_to_video" && json["promptImage"] == nil { return error(.badRequest("promptImage: Required")) }
            if kind == "text_to_video" && prompt.isEmpty { return error(.badRequest("promptText: Required")) }
            let duration = json["duration"].map { $0.int(in: 2...10) } ?? 5
            guard let duration else { return error(.badRequest("duration: Number must be between 2 and 10")) }
            facts["duration"] = String(duration)
            facts["audio"] = json["audio"]?.bool == false ? "false" : "true"
        }
        let id = FakeIDs.uuid()
        call.tasks.create(FakeTask(provider: name, id: id, kind: kind, model: model, behavior: call.behavior.name,
                                   createdAt: Date(), facts: facts))
        return .json(200, ["id": .string(id)])
    }

    enum Status: String { case pending = "PENDING", throttled = "THROTTLED", running = "RUNNING", succeeded = "SUCCEEDED",
                               failed = "FAILED", cancelled = "CANCELLED" }

    static func status(_ task: FakeTask) -> Status {
        if task.cancelled { return .cancelled }
        let steps: [Status] = task.behavior == .throttled ? [.throttled, .pending, .running] : [.pending, .running]
        if let step = steps[safe: max(0, task.polls - 1)] { return step }
        return task.behavior == .refused || task.behavior == .taskFailed ? .failed : .succeeded
    }

    /// Credits as Runway bills them (providers.md §9.2, §9.4): per second for video, per image.
    static func credits(_ task: FakeTask) -> Int {
        if task.kind == "text_to_image" {
            if task.model == "gen4_image_turbo" { return 2 }
            let ratio = task.facts["ratio"] ?? ""
            return ratio.contains("1080") || ratio.contains("1920") || ratio.contains("1440") || ratio.contains("2112") ? 8 : 5
        }
        let seconds = Int(task.facts["duration"] ?? "") ?? 5
        let withAudio = task.facts["audio"] != "false"
        switch task.model {
        case "gen4.5": return seconds * 12
        case "veo3.1", "veo3": return seconds * (withAudio ? 40 : 20)
        case "veo3.1_fast": return seconds * (withAudio ? 15 : 10)
        default: return seconds * 5
        }
    }

    private func poll(_ call: FakeCall) -> FakeResponse {
        let id = Self.segments(call.path).last ?? ""
        guard FakeIDs.isPlausible(id), let task = call.tasks.poll(provider: name, id: id) else {
            return body(404, "Task not found")
        }
        var fields: [(String, JSONValue)] = [("id", .string(task.id)), ("createdAt", .string(FakeClock.rfc3339(task.createdAt)))]
        let status = Self.status(task)
        fields.append(("status", .string(status.rawValue)))
        switch status {
        case .running:
            fields.append(("progress", .number("0.5")))
        case .succeeded:
            let file = task.kind == "text_to_image" ? "output.png" : "output.mp4"
            fields.append(("output", [.string("\(call.base)/_cdn/\(task.id)/\(file)?_jwt=fake-signed-token")]))
            fields.append(("estimatedCost", ["credits": .int(Self.credits(task))]))
        case .failed where task.behavior == .refused:
            fields.append(("failure", "Your text prompt was flagged by our content moderation system."))
            fields.append(("failureCode", "SAFETY.INPUT.TEXT"))
        case .failed:
            fields.append(("failure", "An unexpected error occurred."))
            fields.append(("failureCode", "INTERNAL.BAD_OUTPUT.CODE01"))
        default:
            break
        }
        return .json(200, .object(fields))
    }

    /// A running task is cancelled (it then polls as CANCELLED); a finished one is deleted.
    private func cancel(_ call: FakeCall) -> FakeResponse {
        let id = Self.segments(call.path).last ?? ""
        guard FakeIDs.isPlausible(id), let task = call.tasks.peek(provider: name, id: id) else {
            return body(404, "Task not found")
        }
        let running = [.pending, .throttled, .running].contains(Self.status(task))
        _ = call.tasks.update(provider: name, id: id) { task in
            if running { task.cancelled = true } else { task.deleted = true }
        }
        return .empty(204)
    }
}

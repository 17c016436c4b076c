import Foundation

/// FAL (providers.md §7): the queue API — submit to `/{model_id}`, then status, result and cancel
/// under the app's root without the model's subpath, at the URLs the submit returns — the
/// platform API's pricing lookup (the key check), and output files on a public media path.
/// Base URLs: `<origin>/fal/queue` (queue) and `<origin>/fal/api/v1` (platform).
///
/// Status per poll: IN_QUEUE(queue_position 1) → IN_PROGRESS(logs) → COMPLETED; `throttled` adds
/// a first IN_QUEUE at position 2. `task_failed` completes with an error result (500);
/// `refused` returns an image flagged `has_nsfw_concepts` (images) or a 422 content policy
/// violation (video). Cancel answers 200 `OK` for a request still queued and 202
/// `CANCELLATION_REQUESTED` for one in progress; a cancelled request reports CANCELED [?].
struct FALFake: ProviderFake {
    let name = "fal"
    let prefixes = ["/fal/queue", "/fal/api/v1", "/fal/media"]

    static let imageSizes: [String: (Int, Int)] = [
        "square_hd": (1024, 1024), "square": (512, 512), "portrait_4_3": (768, 1024), "portrait_16_9": (576, 1024),
        "landscape_4_3": (1024, 768), "landscape_16_9": (1024, 576),
    ]

    /// Apps namespaced under these keep three segments in their root (§7.1).
    static func rootSegments(_ parts: [String]) -> Int {
        ["workflows", "comfy"].contains(parts.first ?? "") ? 3 : 2
    }

    func route(method: String, path: String) -> String? {
        let parts = Self.segments(path)
        if method == "GET", path == "/models/pricing" { return "GET /v1/models/pricing" }
        if method == "GET", parts.count == 2, parts.first == "files" { return "GET /media/files/{file}" }
        let root = Self.rootSegments(parts)
        if let index = parts.firstIndex(of: "requests"), index == root, parts.count > index + 1 {
            switch (method, parts.count - index) {
            case ("GET", 2): return "GET /{app}/requests/{id}"
            case ("GET", 3) where parts.last == "status": return "GET /{app}/requests/{id}/status"
            case ("PUT", 3) where parts.last == "cancel": return "PUT /{app}/requests/{id}/cancel"
            default: return nil
            }
        }
        if method == "POST", parts.count >= 2, parts.count <= 8, !parts.contains("requests") { return "POST /{model_id}" }
        return nil
    }

    func credential(_ request: FakeRequest) -> String? { Self.bearer(request, scheme: "Key") }

    func authenticate(_ request: FakeRequest, route: String) -> FakeResponse? {
        guard route != "GET /media/files/{file}" else { return nil }
        guard let key = credential(request), !key.isEmpty else {
            return detail(401, "Authentication is required to access this resource. Pass 'Authorization: Key <key>'.")
        }
        return nil
    }

    func detail(_ status: Int, _ message: String, type: String? = nil, headers: [(String, String)] = []) -> FakeResponse {
        var extra = headers
        if let type { extra.append(("x-fal-error-type", type)) }
        return .json(status, ["detail": .string(message)], headers: extra)
    }

    func error(_ error: FakeError) -> FakeResponse {
        switch error {
        case let .badRequest(message):
            return .json(422, ["detail": [["loc": ["body", "prompt"], "msg": .string(message), "type": "value_error"]]])
        case .unauthorized: return detail(401, "Invalid Key Authorization header format or key not found.")
        case .forbidden: return detail(403, "Access denied: this key cannot use the requested application.")
        case let .notFound(message): return detail(404, "Application not found. (\(message))")
        case let .rateLimited(seconds):
            return detail(429, "Too many concurrent requests for this user. Please retry later.",
                          headers: [("retry-after", Self.retryAfterHeader(seconds))])
        case .quotaExhausted:
            return detail(403, "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.")
        case .serverError: return detail(500, "Internal server error", type: "internal_server_error")
        case .unavailable, .overloaded: return detail(503, "Service temporarily unavailable; please retry.")
        case .tooLarge: return detail(413, "Request body too large.")
        }
    }

    func respond(_ call: FakeCall) -> FakeResponse {
        switch call.route {
        case "GET /v1/models/pricing":
            let endpoint = String((call.request.query["endpoint_id"] ?? "fal-ai/flux/dev").prefix(128))
            return .json(200, ["prices": [["endpoint_id": .string(endpoint), "unit_price": .number("0.025"),
                                           "unit": "megapixels", "currency": "USD"]],
                               "next_cursor": .null, "has_more": false])
        case "GET /media/files/{file}":
            guard let (bytes, mime) = Assets.file(named: Self.segments(call.path).last ?? "") else { return detail(404, "Not found") }
            return .bytes(bytes, contentType: mime)
        case "POST /{model_id}":
            return submit(call)
        case "GET /{app}/requests/{id}/status":
            return status(call)
        case "PUT /{app}/requests/{id}/cancel":
            return cancel(call)
        default:
            return result(call)
        }
    }

    private func submit(_ call: FakeCall) -> FakeResponse {
        let parts = Self.segments(call.path)
        let model = parts.joined(separator: "/")
        guard parts.allSatisfy({ FakeIDs.isPlausible($0.replacingOccurrences(of: ".", with: "_")) }) else {
            return error(.notFound("unknown application"))
        }
        guard let json = call.json, case .object = json else { return error(.badRequest("Input should be a valid dictionary")) }
        guard let prompt = json["prompt"]?.string, !prompt.isEmpty else { return error(.badRequest("field required")) }
        var facts: [String: String] = ["prompt": String(prompt.prefix(200))]
        let isVideo = model.contains("video")
        if isVideo {
            guard json["image_url"]?.string != nil || model.contains("text-to-video") else {
                return .json(422, ["detail": [["loc": ["body", "image_url"], "msg": "field required", "type": "value_error.missing"]]])
            }
            let duration = json["duration"].map { $0.int(in: 1...60) } ?? 5
            guard let duration, [5, 10].contains(duration) else {
                return .json(422, ["detail": [["loc": ["body", "duration"], "msg": "value is not a valid enumeration member; permitted: '5', '10'",
                                               "type": "type_error.enum"]]])
            }
            facts["duration"] = String(duration)
        } else {
            let count = json["num_images"].map { $0.int(in: 1...4) } ?? 1
            guard let count else { return error(.badRequest("num_images must be between 1 and 4")) }
            let (width, height): (Int, Int)
            if let named = json["image_size"]?.string {
                guard let size = Self.imageSizes[named] else { return error(.badRequest("image_size: unexpected value")) }
                (width, height) = size
            } else if let custom = json["image_size"] {
                guard let w = custom["width"]?.int(in: 64...14_142), let h = custom["height"]?.int(in: 64...14_142) else {
                    return error(.badRequest("image_size: width and height must be 64...14142"))
                }
                (width, height) = (w, h)
            } else {
                (width, height) = (1024, 768)
            }
            let format = json["output_format"]?.string ?? "jpeg"
            guard ["jpeg", "png"].contains(format) else { return error(.badRequest("output_format: permitted: 'jpeg', 'png'")) }
            facts["count"] = String(count)
            facts["width"] = String(width)
            facts["height"] = String(height)
            facts["format"] = format
            facts["seed"] = String(json["seed"]?.int(in: 0...Int(Int32.max)) ?? 1_234_567)
        }
        let id = FakeIDs.uuid()
        call.tasks.create(FakeTask(provider: name, id: id, kind: isVideo ? "video" : "image", model: model,
                                   behavior: call.behavior.name, createdAt: Date(), facts: facts))
        let root = parts.prefix(Self.rootSegments(parts)).joined(separator: "/")
        let base = "\(call.base)/\(root)/requests/\(id)"
        return .json(200, ["request_id": .string(id), "response_url": .string(base), "status_url": .string(base + "/status"),
                           "cancel_url": .string(base + "/cancel"), "queue_position": 0],
                     headers: [("x-fal-request-id", id)])
    }

    enum Status: String { case inQueue = "IN_QUEUE", inProgress = "IN_PROGRESS", completed = "COMPLETED", canceled = "CANCELED" }

    static func status(_ task: FakeTask) -> Status {
        if task.cancelled { return .canceled }
        let steps: [Status] = task.behavior == .throttled ? [.inQueue, .inQueue, .inProgress] : [.inQueue, .inProgress]
        return steps[safe: max(0, task.polls - 1)] ?? .completed
    }

    /// The request id from `/{app}/requests/{id}/...`, checked to be one the fake could have issued.
    private func requestID(_ call: FakeCall) -> String? {
        let parts = Self.segments(call.path)
        guard let index = parts.firstIndex(of: "requests"), index + 1 < parts.count else { return nil }
        guard let id = parts[safe: index + 1] else { return nil }
        return FakeIDs.isPlausible(id) ? id : nil
    }

    private func status(_ call: FakeCall) -> FakeResponse {
        guard let id = requestID(call), let task = call.tasks.poll(provider: name, id: id) else {
            return detail(404, "Request not found")
        }
        let base = call.base + "/" + Self.segments(call.path).prefix(while: { $0 != "requests" }).joined(separator: "/")
            + "/requests/\(id)"
        let status = Self.status(task)
        var fields: [(String, JSONValue)] = [("status", .string(status.rawValue)), ("request_id", .string(id))]
        switch status {
        case .inQueue:
            fields.append(("queue_position", .int(task.behavior == .throttled && task.polls <= 1 ? 2 : 1)))
        case .inProgress:
            fields.append(("logs", [["message": "step 3/28", "level": "INFO", "source": "user",
                                     "timestamp": .string(FakeClock.rfc3339())]]))
        case .completed:
            fields.append(("logs", .null))
            fields.append(("metrics", ["inference_time": .number("1.92")]))
            if task.behavior == .taskFailed {
                fields.append(("error", "Internal server error during inference"))
                fields.append(("error_type", "internal_server_error"))
            }
        case .canceled:
            break
        }
        fields.append(("response_url", .string(base)))
        return .json(200, .object(fields), headers: [("x-fal-request-id", id)])
    }

    private func cancel(_ call: FakeCall) -> FakeResponse {
        guard let id = requestID(call), let task = call.tasks.peek(provider: name, id: id) else {
            return detail(404, "Request not found")
        }
        let status = Self.status(task)
        guard status != .completed else { return .json(400, ["status": "ALREADY_COMPLETED"]) }
        _ = call.tasks.update(provider: name, id: id) { $0.cancelled = true }
        // Still queued: removed, it never runs. Started: its runner is only signalled to stop.
        return status == .inQueue ? .json(200, ["status": "OK"]) : .json(202, ["status": "CANCELLATION_REQUESTED"])
    }

    private func result(_ call: FakeCall) -> FakeResponse {
        guard let id = requestID(call), let task = call.tasks.peek(provider: name, id: id) else {
            return detail(404, "Request not found")
        }
        switch Self.status(task) {
        case .canceled: return detail(400, "Request was cancelled")
        case .inQueue, .inProgress: return detail(400, "Request is still in progress")
        case .completed: break
        }
        if task.behavior == .taskFailed {
            return detail(500, "Internal server error during inference", type: "internal_server_error")
        }
        let mediaBase = call.request.origin + "/fal/media/files"
        if task.kind == "video" {
            if task.behavior == .refused {
                return .json(422, ["detail": [["loc": ["body", "prompt"], "msg": "The prompt violates the content policy.",
                                               "type": "content_policy_violation"]]])
            }
            return .json(200, ["video": ["url": .string("\(mediaBase)/\(id).mp4"), "content_type": "video/mp4",
                                         "file_name": "output.mp4", "file_size": .int(Assets.mp4.count)]])
        }
        let count = Int(task.facts["count"] ?? "") ?? 1
        let width = Int(task.facts["width"] ?? "") ?? 1024
        let height = Int(task.facts["height"] ?? "") ?? 768
        let png = task.facts["format"] == "png"
        let images = (0..<count).map { index -> JSONValue in
            ["url": .string("\(mediaBase)/\(id)-\(index).\(png ? "png" : "jpg")"), "width": .int(width), "height": .int(height),
             "content_type": .string(png ? "image/png" : "image/jpeg")]
        }
        let flagged = task.behavior == .refused
        return .json(200, ["images": .array(images), "timings": ["inference": .number("1.71")],
                           "seed": .number(task.facts["seed"] ?? "1234567"),
                           "has_nsfw_concepts": .array(Array(repeating: .bool(flagged), count: count)),
                           "prompt": .string(task.facts["prompt"] ?? "")])
    }
}

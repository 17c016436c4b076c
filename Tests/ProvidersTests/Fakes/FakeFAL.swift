import Domain
import Foundation
import Providers
import Synchronization
import TestSupport

/// FAL's queue per providers.md §7: `Authorization: Key`, submit answering request id and
/// URLs under the app root (subpath dropped), IN_QUEUE → IN_PROGRESS → COMPLETED per poll, the
/// result at `response_url`, PUT cancel, `{"detail"}` errors, and outputs on a media host.
final class FakeFAL: Sendable {
    struct Request: Sendable {
        var prompt: String
        var model: String
        var numImages: Int
        var polls = 0
        var cancelled = false
    }

    let server: FakeHTTPServer
    let media: FakeHTTPServer
    let requests = Mutex<[String: Request]>([:])
    var queueURL: String { server.baseURL }
    var apiURL: String { server.baseURL + "/v1" }

    init() throws {
        media = try FakeHTTPServer { request in
            request.path.hasSuffix(".mp4") ? .bytes(200, FakeAssets.mp4, contentType: "video/mp4")
                : .bytes(200, FakeAssets.png, contentType: "image/png")
        }
        let box = Box()
        server = try FakeHTTPServer { request in box.fake?.route(request) ?? .empty(500) }
        box.fake = self
    }

    final class Box: @unchecked Sendable { weak var fake: FakeFAL? }

    static func detail(_ status: Int, _ message: String, type: String? = nil) -> FakeHTTPServer.Response {
        .json(status, WireJSON.text(["detail": .string(message)]), headers: type.map { [("x-fal-error-type", $0)] } ?? [])
    }

    func route(_ request: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        guard request.header("authorization") == "Key \(TestKeys.fal)" else {
            return Self.detail(401, "Invalid Key Authorization header format or key not found: \(request.header("authorization") ?? "")")
        }
        let path = request.path
        if path == "/v1/models/pricing" {
            return .json(200, #"{"prices":[{"endpoint_id":"fal-ai/flux/dev","unit_price":0.025,"unit":"megapixels","currency":"USD"}]}"#)
        }
        if let range = path.range(of: "/requests/") {
            let root = String(path[path.index(after: path.startIndex)..<range.lowerBound])
            let rest = path[range.upperBound...].split(separator: "/").map(String.init)
            guard let id = rest.first else { return .empty(404) }
            switch (request.method, rest.count > 1 ? rest[1] : "") {
            case ("GET", "status"): return status(id, root: root, baseURL: request.baseURL)
            case ("GET", ""): return result(id)
            case ("PUT", "cancel"): return cancel(id)
            default: return .empty(405)
            }
        }
        guard request.method == "POST" else { return .empty(404) }
        let model = String(path.dropFirst())
        guard model.hasPrefix("fal-ai/flux/") || model.hasPrefix("fal-ai/kling-video/") else {
            return Self.detail(404, "Application '\(model)' not found")
        }
        let prompt = request.json?["prompt"]?.string ?? ""
        if prompt.contains(Magic.quota) {
            return Self.detail(403, "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.")
        }
        if prompt.contains(Magic.badRequest) {
            return .json(422, #"{"detail":[{"loc":["body","image_size"],"msg":"value is not a valid enumeration member","type":"type_error.enum"}]}"#)
        }
        if model.contains("kling"), request.json?["duration"]?.string == nil {
            return .json(422, #"{"detail":[{"loc":["body","duration"],"msg":"str type expected","type":"type_error.str"}]}"#)
        }
        let id = UUID().uuidString.lowercased()
        requests.withLock { $0[id] = Request(prompt: prompt, model: model, numImages: request.json?["num_images"]?.int ?? 1) }
        let segments = model.split(separator: "/")
        let root = segments.prefix(2).joined(separator: "/")
        let origin = prompt.contains("__foreign__") ? media.baseURL : request.baseURL
        let base = "\(origin)/\(root)/requests/\(id)"
        return .json(200, #"{"request_id":"\#(id)","response_url":"\#(base)","status_url":"\#(base)/status","cancel_url":"\#(base)/cancel","queue_position":0}"#,
                     headers: [("x-fal-request-id", id)])
    }

    func status(_ id: String, root: String, baseURL: String) -> FakeHTTPServer.Response {
        guard let request = requests.withLock({ all -> Request? in
            guard var request = all[id] else { return nil }
            request.polls += 1
            all[id] = request
            return request
        }) else { return Self.detail(404, "Request not found") }
        let responseURL = "\(baseURL)/\(root)/requests/\(id)"
        if request.cancelled { return .json(200, #"{"status":"CANCELED","response_url":"\#(responseURL)"}"#) }
        switch request.polls {
        case 1: return .json(202, #"{"status":"IN_QUEUE","queue_position":2,"response_url":"\#(responseURL)"}"#)
        case 2: return .json(202, #"{"status":"IN_PROGRESS","logs":[{"message":"step 3/28","level":"INFO","source":"user","timestamp":"2026-11-24T12:00:01Z"}],"response_url":"\#(responseURL)"}"#)
        default:
            if request.prompt.contains(Magic.fail) {
                return .json(200, #"{"status":"FAILED","error":"Runner crashed","error_type":"runner_error","response_url":"\#(responseURL)"}"#)
            }
            return .json(200, #"{"status":"COMPLETED","logs":null,"metrics":{"inference_time":1.92},"response_url":"\#(responseURL)"}"#)
        }
    }

    func result(_ id: String) -> FakeHTTPServer.Response {
        guard let request = requests.withLock({ $0[id] }) else { return Self.detail(404, "Request not found") }
        if request.prompt.contains(Magic.refuse) {
            return Self.detail(422, "Output failed content checks", type: "content_policy_violation")
        }
        if request.model.contains("kling") {
            return .json(200, #"{"video":{"url":"\#(media.baseURL)/files/zebra/out.mp4","content_type":"video/mp4","file_name":"output.mp4","file_size":2345678}}"#)
        }
        let nsfw = request.prompt.contains("__nsfw__")
        // `__many__`: an app answering with far more images than were asked for.
        let images = (0..<(request.prompt.contains("__many__") ? 40 : request.numImages)).map { index in
            #"{"url":"\#(media.baseURL)/files/rabbit/img\#(index).png","width":1024,"height":768,"content_type":"image/png"}"#
        }.joined(separator: ",")
        return .json(200, #"{"images":[\#(images)],"timings":{"inference":1.71},"seed":1234567,"has_nsfw_concepts":[\#(nsfw)],"prompt":"\#(request.prompt)"}"#)
    }

    func cancel(_ id: String) -> FakeHTTPServer.Response {
        let state = requests.withLock { all -> Int? in
            guard let request = all[id] else { return nil }
            if request.polls < 3 { all[id]?.cancelled = true }
            return request.polls
        }
        guard let state else { return .json(404, #"{"status":"NOT_FOUND"}"#) }
        // Queued until its second poll: removed (OK); in progress: its runner is signalled.
        if state < 2 { return .json(200, #"{"status":"OK"}"#) }
        return state < 3 ? .json(202, #"{"status":"CANCELLATION_REQUESTED"}"#) : .json(400, #"{"status":"ALREADY_COMPLETED"}"#)
    }
}

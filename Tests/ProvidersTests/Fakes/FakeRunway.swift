import Domain
import Foundation
import Providers
import Synchronization
import TestSupport

/// Runway per providers.md §5: bearer key plus mandatory `X-Runway-Version`, task creation
/// answering `{"id"}`, and a task state machine that advances one step per poll:
/// PENDING → RUNNING(progress) → SUCCEEDED(output), with FAILED, THROTTLED and CANCELLED
/// variants, and output files served from `/cdn/`.
final class FakeRunway: Sendable {
    struct Task: Sendable {
        var prompt: String
        var kind: String
        var polls = 0
        var cancelled = false
    }

    let server: FakeHTTPServer
    let tasks = Mutex<[String: Task]>([:])
    let counters = FakeCounters()
    var baseURL: String { server.baseURL }

    init() throws {
        let box = Box()
        server = try FakeHTTPServer { request in box.fake?.route(request) ?? .empty(500) }
        box.fake = self
    }

    final class Box: @unchecked Sendable { weak var fake: FakeRunway? }

    static func error(_ status: Int, _ message: String) -> FakeHTTPServer.Response {
        .json(status, WireJSON.text(["error": .string(message)]))
    }

    func route(_ request: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        if request.path.hasPrefix("/cdn/") {
            if request.header("authorization") != nil { return .empty(400) }
            return request.path.hasSuffix(".png") ? .bytes(200, FakeAssets.png, contentType: "image/png")
                : .bytes(200, FakeAssets.mp4, contentType: "video/mp4")
        }
        guard request.header("x-runway-version") == "2024-11-06" else {
            return Self.error(400, "X-Runway-Version header is required")
        }
        guard request.header("authorization") == "Bearer \(TestKeys.runway)" else {
            return Self.error(401, "Invalid API key")
        }
        switch (request.method, request.path) {
        case ("GET", "/v1/organization"):
            return .json(200, #"{"creditBalance":12500,"tier":{"maxMonthlyCreditSpend":100000,"models":{"gen4_turbo":{"maxConcurrentGenerations":2,"maxDailyGenerations":200}}},"usage":{"models":{"gen4_turbo":{"dailyGenerations":3}}}}"#)
        case ("POST", "/v1/image_to_video"), ("POST", "/v1/text_to_video"), ("POST", "/v1/text_to_image"):
            let body = request.json
            let prompt = body?["promptText"]?.string ?? ""
            if request.path == "/v1/image_to_video", body?["promptImage"]?.string == nil {
                return Self.error(400, "promptImage: Required")
            }
            if prompt.contains(Magic.quota) { return Self.error(400, "You do not have enough credits to run this task.") }
            if prompt.contains(Magic.rateLimited), counters.hit("429") == 1 { return Self.error(429, "Too many requests") }
            if prompt.contains(Magic.slow) { return FakeHTTPServer.Response(status: 200, delay: 2) }
            let id = UUID().uuidString.lowercased()
            tasks.withLock { $0[id] = Task(prompt: prompt, kind: String(request.path.dropFirst(4))) }
            return .json(200, #"{"id":"\#(id)"}"#)
        case ("GET", let path) where path.hasPrefix("/v1/tasks/"):
            let id = String(path.dropFirst("/v1/tasks/".count))
            guard let task = tasks.withLock({ tasks -> Task? in
                guard var task = tasks[id] else { return nil }
                if !task.cancelled { task.polls += 1 }
                tasks[id] = task
                return task
            }) else { return Self.error(404, "Task not found") }
            return .json(200, taskJSON(id, task, baseURL: request.baseURL))
        case ("DELETE", let path) where path.hasPrefix("/v1/tasks/"):
            let id = String(path.dropFirst("/v1/tasks/".count))
            let found = tasks.withLock { tasks -> Bool in
                guard tasks[id] != nil else { return false }
                tasks[id]?.cancelled = true
                return true
            }
            return found ? .empty(204) : Self.error(404, "Task not found")
        default:
            return Self.error(404, "Not found")
        }
    }

    func taskJSON(_ id: String, _ task: Task, baseURL: String) -> String {
        let head = #""id":"\#(id)","createdAt":"2025-11-11T21:48:50.448Z""#
        if task.cancelled { return #"{\#(head),"status":"CANCELLED"}"# }
        if task.prompt.contains("__throttle__"), task.polls == 1 { return #"{\#(head),"status":"THROTTLED"}"# }
        switch task.polls {
        case 1: return #"{\#(head),"status":"PENDING"}"#
        case 2: return #"{\#(head),"status":"RUNNING","progress":0.42}"#
        default:
            if task.prompt.contains(Magic.refuse) {
                return #"{\#(head),"status":"FAILED","failure":"Your prompt was flagged by our content moderation.","failureCode":"SAFETY.INPUT.TEXT"}"#
            }
            if task.prompt.contains(Magic.fail) {
                return #"{\#(head),"status":"FAILED","failure":"An unexpected error occurred.","failureCode":"INTERNAL.BAD_OUTPUT.CODE01"}"#
            }
            let ext = task.kind == "text_to_image" ? "png" : "mp4"
            return #"{\#(head),"status":"SUCCEEDED","output":["\#(baseURL)/cdn/\#(id)/out.\#(ext)?_jwt=signed-token"],"estimatedCost":{"credits":25}}"#
        }
    }
}

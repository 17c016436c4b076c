import Foundation
import Providers
import Synchronization
import TestSupport

/// The Gemini API's Veo surface per providers.md §6: `x-goog-api-key`, `predictLongRunning`
/// answering an operation name, operations that finish on the second poll, a file URI that
/// redirects to a separate storage server, and google.rpc.Status errors (bad key = 400).
final class FakeVeo: Sendable {
    let server: FakeHTTPServer
    let storage: FakeHTTPServer
    let operations = Mutex<[String: (prompt: String, polls: Int, samples: Int)]>([:])
    let counters = FakeCounters()
    var baseURL: String { server.baseURL + "/v1beta" }

    init() throws {
        storage = try FakeHTTPServer { request in
            request.header("x-goog-api-key") == nil ? .bytes(200, FakeAssets.mp4, contentType: "video/mp4") : .empty(400)
        }
        let box = Box()
        server = try FakeHTTPServer { request in box.fake?.route(request) ?? .empty(500) }
        box.fake = self
    }

    final class Box: @unchecked Sendable { weak var fake: FakeVeo? }

    static func status(_ code: Int, _ status: String, _ message: String, details: String = "[]") -> FakeHTTPServer.Response {
        .json(code, #"{"error":{"code":\#(code),"message":"\#(message)","status":"\#(status)","details":\#(details)}}"#)
    }

    func route(_ request: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        guard request.header("x-goog-api-key") == TestKeys.gemini else {
            return Self.status(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                               details: #"[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]"#)
        }
        let path = request.path
        if request.method == "GET", path == "/v1beta/models" {
            return .json(200, #"{"models":[{"name":"models/veo-3.1-generate-001"}]}"#)
        }
        if request.method == "POST", path.hasPrefix("/v1beta/models/"), path.hasSuffix(":predictLongRunning") {
            let model = String(path.dropFirst("/v1beta/models/".count).dropLast(":predictLongRunning".count))
            guard model.hasPrefix("veo-") else { return Self.status(404, "NOT_FOUND", "models/\(model) is not found") }
            let prompt = request.json?["instances"]?[0]?["prompt"]?.string ?? ""
            if prompt.contains(Magic.rateLimited), counters.hit("429") == 1 {
                return Self.status(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
                                   details: #"[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3s"}]"#)
            }
            let name = "models/\(model)/operations/op\(UUID().uuidString.prefix(8).lowercased())"
            let samples = request.json?["parameters"]?["sampleCount"]?.int ?? 1
            operations.withLock { $0[name] = (prompt, 0, samples) }
            return .json(200, #"{"name":"\#(name)"}"#)
        }
        if request.method == "GET", path.hasPrefix("/v1beta/files/") {
            let file = path.dropFirst("/v1beta/files/".count).split(separator: ":").first.map(String.init) ?? "x"
            return .empty(302, headers: [("Location", storage.baseURL + "/blobs/\(file).mp4?sig=abc")])
        }
        if request.method == "GET", path.hasPrefix("/v1beta/models/"), path.contains("/operations/") {
            let name = String(path.dropFirst("/v1beta/".count))
            guard let operation = operations.withLock({ ops -> (prompt: String, polls: Int, samples: Int)? in
                guard var op = ops[name] else { return nil }
                op.polls += 1
                ops[name] = op
                return op
            }) else { return Self.status(404, "NOT_FOUND", "operation not found") }
            if operation.polls < 2 { return .json(200, #"{"name":"\#(name)","done":false}"#) }
            if operation.prompt.contains(Magic.fail) {
                return .json(200, #"{"name":"\#(name)","done":true,"error":{"code":13,"message":"Video generation failed due to an internal error."}}"#)
            }
            if operation.prompt.contains(Magic.refuse) {
                return .json(200, #"{"name":"\#(name)","done":true,"response":{"@type":"type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse","generateVideoResponse":{"raiMediaFilteredCount":1,"raiMediaFilteredReasons":["The prompt could not be submitted: it may violate our policies."]}}}"#)
            }
            let samples = (0..<operation.samples).map { index in
                #"{"video":{"uri":"\#(request.baseURL)/v1beta/files/vid\#(index):download?alt=media"}}"#
            }.joined(separator: ",")
            return .json(200, #"{"name":"\#(name)","done":true,"response":{"@type":"type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse","generateVideoResponse":{"generatedSamples":[\#(samples)],"raiMediaFilteredCount":0,"raiMediaFilteredReasons":[]}}}"#)
        }
        return Self.status(404, "NOT_FOUND", "not found")
    }
}

import Foundation
import Providers
import TestSupport

/// OpenAI's API as providers.md §1 describes it: bearer auth, chat completions with cached-token
/// usage, gpt-image b64 answers with usage, binary speech, and its error bodies.
final class FakeOpenAI: Sendable {
    let server: FakeHTTPServer
    let counters = FakeCounters()
    var baseURL: String { server.baseURL + "/v1" }

    init() throws {
        let counters = counters
        server = try FakeHTTPServer { request in FakeOpenAI.route(request, counters: counters) }
    }

    static func error(_ status: Int, _ message: String, type: String, code: String?, headers: [(String, String)] = []) -> FakeHTTPServer.Response {
        let codeText = code.map { "\"\($0)\"" } ?? "null"
        return .json(status, #"{"error":{"message":"\#(message)","type":"\#(type)","param":null,"code":\#(codeText)}}"#,
                     headers: headers + [("x-request-id", "req_err_\(status)")])
    }

    static func route(_ request: FakeHTTPServer.Request, counters: FakeCounters) -> FakeHTTPServer.Response {
        let auth = request.header("authorization") ?? ""
        guard auth == "Bearer \(TestKeys.openAI)" else {
            // The real message quotes part of the key; this one echoes all of it, the worst case.
            let shown = auth.replacingOccurrences(of: "Bearer ", with: "")
            return error(401, "Incorrect API key provided: \(shown). You can find your API key at https://platform.openai.com/account/api-keys.",
                         type: "invalid_request_error", code: "invalid_api_key")
        }
        let prompt = request.json?["messages"]?.array?.last?["content"]?.string
            ?? request.json?["prompt"]?.string ?? request.json?["input"]?.string ?? ""
        if let failure = injected(prompt, counters: counters) { return failure }
        switch (request.method, request.path) {
        case ("GET", "/v1/models"):
            return .json(200, #"{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1715367049,"owned_by":"system"}]}"#)
        case ("POST", "/v1/chat/completions"):
            if prompt.contains(Magic.refuse) {
                return .json(200, #"{"id":"chatcmpl-R","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":5,"total_tokens":14}}"#)
            }
            return .json(200, #"""
                {"id":"chatcmpl-AbC123","object":"chat.completion","created":1732000000,"model":"gpt-4o-mini-2024-07-18",
                 "choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","refusal":null},"logprobs":null,"finish_reason":"stop"}],
                 "usage":{"prompt_tokens":1900,"completion_tokens":300,"total_tokens":2200,
                          "prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},
                          "completion_tokens_details":{"reasoning_tokens":120,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},
                 "service_tier":"default","system_fingerprint":"fp_0ba0d124f1"}
                """#, headers: [("x-request-id", "req_chat_1"), ("x-ratelimit-remaining-requests", "9999")])
        case ("POST", "/v1/images/generations"):
            if prompt.contains(Magic.refuse) {
                return error(400, "Your request was rejected as a result of our safety system.", type: "image_generation_user_error",
                             code: "moderation_blocked")
            }
            let count = request.json?["n"]?.int ?? 1
            let size = request.json?["size"]?.string ?? "1024x1024"
            let items = Array(repeating: #"{"b64_json":"\#(FakeAssets.pngBase64)"}"#, count: count).joined(separator: ",")
            return .json(200, #"""
                {"created":1732000000,"background":"opaque","output_format":"png","quality":"medium","size":"\#(size)",
                 "data":[\#(items)],
                 "usage":{"input_tokens":50,"input_tokens_details":{"text_tokens":50,"image_tokens":0},"output_tokens":\#(1056 * count),"total_tokens":\#(50 + 1056 * count),
                          "output_tokens_details":{"image_tokens":\#(1056 * count),"text_tokens":0}}}
                """#, headers: [("x-request-id", "req_img_1")])
        case ("POST", "/v1/audio/speech"):
            guard let voice = request.json?["voice"]?.string, !voice.isEmpty else {
                return error(400, "Missing required parameter: 'voice'.", type: "invalid_request_error", code: "missing_required_parameter")
            }
            return .bytes(200, FakeAssets.mp3, contentType: "audio/mpeg", headers: [("x-request-id", "req_tts_1")])
        default:
            return error(404, "Unknown request URL: \(request.method) \(request.path).", type: "invalid_request_error", code: "unknown_url")
        }
    }

    static func injected(_ prompt: String, counters: FakeCounters) -> FakeHTTPServer.Response? {
        if prompt.contains(Magic.rateLimitedLong) {
            return error(429, "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3. Please try again in 2m0s.",
                         type: "requests", code: "rate_limit_exceeded", headers: [("retry-after", "120")])
        }
        if prompt.contains(Magic.rateLimited), counters.hit("429") == 1 {
            return error(429, "Rate limit reached for gpt-4o-mini. Please try again in 1.2s.", type: "tokens",
                         code: "rate_limit_exceeded", headers: [("retry-after-ms", "1200")])
        }
        if prompt.contains(Magic.quota) {
            return error(429, "You exceeded your current quota, please check your plan and billing details.",
                         type: "insufficient_quota", code: "insufficient_quota")
        }
        if prompt.contains(Magic.serverErrorOnce), counters.hit("500once") == 1 {
            return error(500, "The server had an error while processing your request. Sorry about that!", type: "server_error", code: nil)
        }
        if prompt.contains(Magic.serverError) {
            return error(500, "The server had an error while processing your request. Sorry about that!", type: "server_error", code: nil)
        }
        if prompt.contains(Magic.overloaded) {
            return error(503, "The engine is currently overloaded, please try again later", type: "server_error", code: nil)
        }
        if prompt.contains(Magic.badRequest) {
            return error(400, "This model's maximum context length is 128000 tokens.", type: "invalid_request_error",
                         code: "context_length_exceeded", headers: [("x-should-retry", "false")])
        }
        if prompt.contains(Magic.slow) { return FakeHTTPServer.Response(status: 200, delay: 2) }
        if prompt.contains(Magic.huge) {
            return FakeHTTPServer.Response(status: 200, mode: .oversized(bytes: 8 << 20, declareLength: false))
        }
        if prompt.contains(Magic.close) { return FakeHTTPServer.Response(status: 200, mode: .closeAbruptly) }
        if prompt.contains(Magic.badJSON) { return .json(200, #"{"id":"chatcmpl-1","choices":["#) }
        return nil
    }
}

import Foundation
import Providers
import TestSupport

/// OpenRouter per providers.md §3: OpenAI-shaped chat with `usage.cost`, `GET /key`, and
/// `{"error":{"code","message","metadata"}}` errors whose status equals the code.
final class FakeOpenRouter: Sendable {
    let server: FakeHTTPServer
    var baseURL: String { server.baseURL + "/api/v1" }

    init() throws {
        server = try FakeHTTPServer { request in FakeOpenRouter.route(request) }
    }

    static func error(_ code: Int, _ message: String, metadata: String = "{}", headers: [(String, String)] = []) -> FakeHTTPServer.Response {
        .json(code, #"{"error":{"code":\#(code),"message":"\#(message)","metadata":\#(metadata)}}"#, headers: headers)
    }

    static func route(_ request: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        if request.method == "GET", request.path == "/api/v1/models" {
            return .json(200, #"{"data":[{"id":"openai/gpt-4o","pricing":{"prompt":"0.0000025","completion":"0.00001"}}]}"#)
        }
        guard request.header("authorization") == "Bearer \(TestKeys.openRouter)" else {
            return error(401, "No auth credentials found")
        }
        let prompt = request.json?["messages"]?.array?.last?["content"]?.string ?? ""
        if prompt.contains(Magic.quota) {
            return error(402, "Insufficient credits. Add more using https://openrouter.ai/credits",
                         metadata: #"{"limit_source":"openrouter_credits"}"#)
        }
        if prompt.contains(Magic.refuse) {
            return error(403, "Input flagged by moderation", metadata: #"{"reasons":["violence"],"flagged_input":"...","provider_name":"OpenAI","model_slug":"openai/gpt-4o"}"#)
        }
        if prompt.contains(Magic.serverError) {
            return error(502, "Provider returned error", metadata: #"{"provider_name":"OpenAI","raw":"upstream 500"}"#)
        }
        if prompt.contains(Magic.fail) {
            return .json(200, #"{"id":"gen-err","choices":[{"index":0,"finish_reason":"error","message":{"role":"assistant","content":""}}],"error":{"code":502,"message":"Upstream provider failed mid-generation"}}"#)
        }
        switch (request.method, request.path) {
        case ("GET", "/api/v1/key"):
            return .json(200, #"""
                {"data":{"label":"sk-or-v1-au7...890","limit":100,"limit_remaining":74.5,"limit_reset":"monthly","include_byok_in_limit":false,
                 "usage":25.5,"usage_daily":25.5,"usage_weekly":25.5,"usage_monthly":25.5,"is_free_tier":false,"is_provisioning_key":false,
                 "expires_at":"2027-12-31T23:59:59Z","rate_limit":{"requests":1000,"interval":"1h","note":"This field is deprecated and safe to ignore."}}}
                """#)
        case ("POST", "/api/v1/chat/completions"):
            return .json(200, #"""
                {"id":"gen-1732000000-AbCdEf","provider":"OpenAI","model":"openai/gpt-4o-mini","object":"chat.completion","created":1732000000,
                 "choices":[{"index":0,"logprobs":null,"finish_reason":"stop","native_finish_reason":"stop",
                             "message":{"role":"assistant","content":"Hello!","refusal":null,"reasoning":null}}],
                 "usage":{"prompt_tokens":19,"completion_tokens":3,"total_tokens":22,"cost":0.0000047,"is_byok":false,
                          "prompt_tokens_details":{"cached_tokens":4,"cache_write_tokens":5,"audio_tokens":0},
                          "cost_details":{"upstream_inference_cost":null},
                          "completion_tokens_details":{"reasoning_tokens":0}}}
                """#, headers: [("X-Generation-Id", "gen-1732000000-AbCdEf")])
        default:
            return error(404, "Not Found")
        }
    }
}

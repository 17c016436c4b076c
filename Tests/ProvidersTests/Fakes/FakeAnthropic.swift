import Foundation
import Providers
import TestSupport

/// Anthropic's API per providers.md §2: `x-api-key` plus a mandatory `anthropic-version`,
/// messages with cache usage, count_tokens, and typed error bodies including 529 overloaded.
final class FakeAnthropic: Sendable {
    let server: FakeHTTPServer
    let counters = FakeCounters()
    var baseURL: String { server.baseURL }

    init() throws {
        let counters = counters
        server = try FakeHTTPServer { request in FakeAnthropic.route(request, counters: counters) }
    }

    static func error(_ status: Int, _ type: String, _ message: String, headers: [(String, String)] = []) -> FakeHTTPServer.Response {
        .json(status, #"{"type":"error","error":{"type":"\#(type)","message":"\#(message)"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#,
              headers: headers + [("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")])
    }

    static func route(_ request: FakeHTTPServer.Request, counters: FakeCounters) -> FakeHTTPServer.Response {
        guard request.header("anthropic-version") == "2023-06-01" else {
            return error(400, "invalid_request_error", "anthropic-version: header is required")
        }
        guard request.header("x-api-key") == TestKeys.anthropic else {
            return error(401, "authentication_error", "invalid x-api-key \(request.header("x-api-key") ?? "")")
        }
        let prompt = request.json?["messages"]?[0]?["content"]?.string ?? ""
        if prompt.contains(Magic.overloaded) { return error(529, "overloaded_error", "Overloaded") }
        if prompt.contains(Magic.rateLimited), counters.hit("429") == 1 {
            return error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit",
                         headers: [("retry-after", "2"), ("anthropic-ratelimit-tokens-remaining", "0")])
        }
        if prompt.contains(Magic.quota) {
            return error(400, "invalid_request_error",
                         "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.")
        }
        if prompt.contains(Magic.serverError) { return error(500, "api_error", "Internal server error") }
        switch (request.method, request.path) {
        case ("GET", "/v1/models"):
            return .json(200, #"{"data":[{"type":"model","id":"claude-sonnet-4-5-20250929","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":false,"first_id":"claude-sonnet-4-5-20250929","last_id":"claude-sonnet-4-5-20250929"}"#)
        case ("POST", "/v1/messages"):
            guard request.json?["max_tokens"]?.int != nil else {
                return error(400, "invalid_request_error", "max_tokens: Field required")
            }
            if prompt.contains(Magic.refuse) {
                return .json(200, #"{"id":"msg_ref","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":"refusal","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":0}}"#)
            }
            return .json(200, #"""
                {"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
                 "content":[{"type":"text","text":"Hello"},{"type":"text","text":" there!"}],"stop_reason":"end_turn","stop_sequence":null,
                 "usage":{"input_tokens":12,"output_tokens":6,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,
                          "cache_creation":{"ephemeral_5m_input_tokens":70,"ephemeral_1h_input_tokens":30},"service_tier":"standard"}}
                """#, headers: [("request-id", "req_msg_1"), ("anthropic-ratelimit-requests-remaining", "49")])
        case ("POST", "/v1/messages/count_tokens"):
            guard request.json?["max_tokens"] == nil else {
                return error(400, "invalid_request_error", "max_tokens: Extra inputs are not permitted")
            }
            return .json(200, #"{"input_tokens":2095}"#)
        default:
            return error(404, "not_found_error", "Not found")
        }
    }
}

import Domain
import Foundation
@testable import Providers
import XCTest

/// Every row of the error tables in providers.md, mapped without a network: status, headers and
/// body in, normalised kind and retryability out.
final class ErrorMappingTests: XCTestCase {
    typealias Mapper = @Sendable (ErrorResponse) -> ProviderError

    func map(_ mapper: Mapper, _ provider: ProviderID, _ status: Int, _ body: String,
             headers: [(String, String)] = []) -> ProviderError {
        let httpHeaders = HTTPHeaders(headers)
        let response = OutboundResponse(status: status, headers: httpHeaders, body: Data(body.utf8), bodyFile: nil,
                                    bodyByteCount: Int64(body.utf8.count), url: "https://example", newConnections: 0)
        let error = mapper(ErrorResponse(provider: provider, response: response,
                                         retryAfter: RetryAfter.seconds(from: httpHeaders, now: Date()), secrets: []))
        return ProviderHTTP.applyShouldRetry(error, headers: httpHeaders)
    }

    func check(_ error: ProviderError, _ kind: ProviderError.Kind, retryable: Bool, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(error.kind, kind, error.description, file: file, line: line)
        XCTAssertEqual(error.isRetryable, retryable, error.description, file: file, line: line)
    }

    func testOpenAI() {
        func openAI(_ status: Int, type: String, code: String?, headers: [(String, String)] = []) -> ProviderError {
            let codeText = code.map { "\"\($0)\"" } ?? "null"
            return map(OpenAIErrors.map, .openai, status,
                       #"{"error":{"message":"m","type":"\#(type)","param":null,"code":\#(codeText)}}"#, headers: headers)
        }
        check(openAI(400, type: "invalid_request_error", code: "context_length_exceeded"), .badRequest, retryable: false)
        check(openAI(400, type: "image_generation_user_error", code: "moderation_blocked"), .contentRefused, retryable: false)
        check(openAI(400, type: "invalid_request_error", code: "content_policy_violation"), .contentRefused, retryable: false)
        check(openAI(401, type: "invalid_request_error", code: "invalid_api_key"), .invalidKey, retryable: false)
        check(openAI(403, type: "invalid_request_error", code: "unsupported_country_region_territory"), .permissionDenied, retryable: false)
        check(openAI(404, type: "invalid_request_error", code: "model_not_found"), .notFound, retryable: false)
        check(openAI(429, type: "requests", code: "rate_limit_exceeded", headers: [("retry-after", "7")]),
              .rateLimited(retryAfter: 7), retryable: true)
        check(openAI(429, type: "insufficient_quota", code: "insufficient_quota"), .quotaExhausted, retryable: false)
        check(openAI(500, type: "server_error", code: nil), .providerDown, retryable: true)
        check(openAI(503, type: "server_error", code: nil), .providerDown, retryable: true)
        check(openAI(500, type: "server_error", code: nil, headers: [("x-should-retry", "false")]), .providerDown, retryable: false)
        check(openAI(409, type: "conflict", code: nil), .providerDown, retryable: true)
        check(openAI(408, type: "timeout", code: nil), .timeout, retryable: true)
        check(map(OpenAIErrors.map, .openai, 502, "<html>bad gateway</html>"), .providerDown, retryable: true)
    }

    func testAnthropic() {
        func anthropic(_ status: Int, _ type: String, _ message: String = "m", headers: [(String, String)] = []) -> ProviderError {
            map(AnthropicErrors.map, .anthropic, status,
                #"{"type":"error","error":{"type":"\#(type)","message":"\#(message)"},"request_id":"req_1"}"#, headers: headers)
        }
        check(anthropic(400, "invalid_request_error"), .badRequest, retryable: false)
        check(anthropic(400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API."),
              .quotaExhausted, retryable: false)
        check(anthropic(401, "authentication_error"), .invalidKey, retryable: false)
        check(anthropic(402, "billing_error"), .quotaExhausted, retryable: false)
        check(anthropic(403, "permission_error"), .permissionDenied, retryable: false)
        check(anthropic(404, "not_found_error"), .notFound, retryable: false)
        check(anthropic(413, "request_too_large"), .badRequest, retryable: false)
        check(anthropic(429, "rate_limit_error", headers: [("retry-after", "12")]), .rateLimited(retryAfter: 12), retryable: true)
        check(anthropic(500, "api_error"), .providerDown, retryable: true)
        check(anthropic(504, "timeout_error"), .timeout, retryable: true)
        check(anthropic(529, "overloaded_error"), .providerDown, retryable: true)
        check(map(AnthropicErrors.map, .anthropic, 529, ""), .providerDown, retryable: true)
    }

    func testOpenRouter() {
        func openRouter(_ status: Int, headers: [(String, String)] = []) -> ProviderError {
            map(OpenRouterErrors.map, .openrouter, status, #"{"error":{"code":\#(status),"message":"m","metadata":{}}}"#, headers: headers)
        }
        check(openRouter(400), .badRequest, retryable: false)
        check(openRouter(401), .invalidKey, retryable: false)
        check(openRouter(402), .quotaExhausted, retryable: false)
        check(openRouter(402, headers: [("Retry-After", "30")]), .quotaExhausted, retryable: true)
        check(openRouter(403), .contentRefused, retryable: false)
        check(openRouter(408), .timeout, retryable: true)
        check(openRouter(429, headers: [("Retry-After", "5")]), .rateLimited(retryAfter: 5), retryable: true)
        check(openRouter(502), .providerDown, retryable: true)
        check(openRouter(503), .providerDown, retryable: true)
    }

    func testElevenLabs() {
        func eleven(_ status: Int, _ code: String) -> ProviderError {
            map(ElevenLabsErrors.map, .elevenlabs, status, #"{"detail":{"status":"\#(code)","message":"m"}}"#)
        }
        check(eleven(400, "voice_not_found"), .notFound, retryable: false)
        check(eleven(404, "model_not_found"), .notFound, retryable: false)
        check(eleven(401, "invalid_api_key"), .invalidKey, retryable: false)
        check(eleven(401, "missing_permissions"), .permissionDenied, retryable: false)
        check(eleven(401, "quota_exceeded"), .quotaExhausted, retryable: false)
        check(eleven(429, "too_many_concurrent_requests"), .rateLimited(retryAfter: nil), retryable: true)
        check(eleven(429, "system_busy"), .rateLimited(retryAfter: nil), retryable: true)
        check(eleven(500, "internal_error"), .providerDown, retryable: true)
        let newer = map(ElevenLabsErrors.map, .elevenlabs, 401, #"{"detail":{"type":"authentication_error","code":"quota_exceeded","message":"m"}}"#)
        check(newer, .quotaExhausted, retryable: false)
        let validation = map(ElevenLabsErrors.map, .elevenlabs, 422,
                             #"{"detail":[{"loc":["body","text"],"msg":"Field required","type":"missing"}]}"#)
        check(validation, .badRequest, retryable: false)
        XCTAssertEqual(validation.message, "body.text: Field required")
    }

    func testRunway() {
        func runway(_ status: Int, _ message: String = "m") -> ProviderError {
            map(RunwayErrors.map, .runway, status, WireJSON.text(["error": .string(message)]))
        }
        check(runway(400, "promptImage: Invalid URL"), .badRequest, retryable: false)
        check(runway(400, "You do not have enough credits to run this task."), .quotaExhausted, retryable: false)
        check(runway(401), .invalidKey, retryable: false)
        check(runway(404), .notFound, retryable: false)
        check(runway(405), .badRequest, retryable: false)
        check(runway(429), .rateLimited(retryAfter: nil), retryable: true)
        check(runway(502), .providerDown, retryable: true)
        check(runway(503), .providerDown, retryable: true)
        check(runway(504), .providerDown, retryable: true)
        check(RunwayErrors.taskFailure(code: "SAFETY.INPUT.TEXT", message: nil, taskID: "t"), .contentRefused, retryable: false)
        check(RunwayErrors.taskFailure(code: "SAFETY.OUTPUT.VIDEO", message: nil, taskID: "t"), .contentRefused, retryable: false)
        check(RunwayErrors.taskFailure(code: "INPUT_PREPROCESSING.SAFETY.TEXT", message: nil, taskID: "t"), .contentRefused,
              retryable: false)
        check(RunwayErrors.taskFailure(code: "INTERNAL.BAD_OUTPUT.CODE01", message: nil, taskID: "t"), .generationFailed,
              retryable: false)
        check(RunwayErrors.taskFailure(code: "ASSET.INVALID", message: nil, taskID: "t"), .badRequest, retryable: false)
    }

    func testVeo() {
        func google(_ status: Int, _ rpc: String, details: String = "[]", message: String = "m") -> ProviderError {
            map(VeoErrors.map, .veo, status,
                #"{"error":{"code":\#(status),"message":"\#(message)","status":"\#(rpc)","details":\#(details)}}"#)
        }
        check(google(400, "INVALID_ARGUMENT", details: #"[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]"#),
              .invalidKey, retryable: false)
        check(google(400, "INVALID_ARGUMENT"), .badRequest, retryable: false)
        check(google(403, "PERMISSION_DENIED"), .permissionDenied, retryable: false)
        check(google(404, "NOT_FOUND"), .notFound, retryable: false)
        check(google(429, "RESOURCE_EXHAUSTED", details: #"[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]"#),
              .rateLimited(retryAfter: 37), retryable: true)
        check(google(500, "INTERNAL"), .providerDown, retryable: true)
        check(google(503, "UNAVAILABLE"), .providerDown, retryable: true)
        check(VeoErrors.operationFailure(["code": 3, "message": "bad"], operation: "o"), .badRequest, retryable: false)
        check(VeoErrors.operationFailure(["code": 13, "message": "internal"], operation: "o"), .generationFailed, retryable: true)
    }

    func testFAL() {
        func fal(_ status: Int, _ detail: String, headers: [(String, String)] = []) -> ProviderError {
            map(FALErrors.map, .fal, status, WireJSON.text(["detail": .string(detail)]), headers: headers)
        }
        check(fal(401, "Invalid key"), .invalidKey, retryable: false)
        check(fal(403, "User is locked. Reason: Exhausted balance."), .quotaExhausted, retryable: false)
        check(fal(403, "Forbidden"), .permissionDenied, retryable: false)
        check(fal(404, "Application not found"), .notFound, retryable: false)
        check(map(FALErrors.map, .fal, 422, #"{"detail":[{"loc":["body","prompt"],"msg":"field required","type":"value_error.missing"}]}"#),
              .badRequest, retryable: false)
        check(fal(429, "Too many concurrent requests"), .rateLimited(retryAfter: nil), retryable: true)
        check(fal(408, "timeout"), .timeout, retryable: true)
        check(fal(502, "bad gateway"), .providerDown, retryable: true)
        check(fal(504, "gateway timeout"), .providerDown, retryable: true)
        XCTAssertEqual(fal(500, "x", headers: [("x-fal-error-type", "runner_error")]).providerCode, "runner_error")
    }

    func testRateLimitHeadersTravelWithTheErrorForTheRouter() {
        let limited = map(OpenAIErrors.map, .openai, 429, #"{"error":{"message":"m","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
                          headers: [("Retry-After", "7"), ("X-RateLimit-Remaining-Requests", "0"), ("x-ratelimit-reset-requests", "6m0s"),
                                    ("x-should-retry", "true"), ("content-type", "application/json")])
        XCTAssertEqual(limited.rateLimitHeaders, ["retry-after": "7", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"],
                       "kept through x-should-retry, names lowercased, nothing else")
        let overloaded = map(AnthropicErrors.map, .anthropic, 529, #"{"type":"error","error":{"type":"overloaded_error","message":"o"}}"#,
                             headers: [("anthropic-ratelimit-requests-remaining", "3")])
        XCTAssertEqual(overloaded.rateLimitHeaders, ["anthropic-ratelimit-requests-remaining": "3"])
        XCTAssertNil(map(OpenAIErrors.map, .openai, 500, "oops").rateLimitHeaders)
    }
}

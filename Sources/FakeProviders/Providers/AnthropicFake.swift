import Foundation

/// Anthropic (providers.md §2): messages (JSON and named-event SSE), free count_tokens, the model
/// list; `x-api-key` plus the mandatory `anthropic-version`. Base URL: `<origin>/anthropic`.
struct AnthropicFake: ProviderFake {
    let name = "anthropic"
    let prefixes = ["/anthropic"]

    func route(method: String, path: String) -> String? {
        switch (method, path) {
        case ("GET", "/v1/models"): return "GET /v1/models"
        case ("POST", "/v1/messages"): return "POST /v1/messages"
        case ("POST", "/v1/messages/count_tokens"): return "POST /v1/messages/count_tokens"
        case ("GET", _) where path.hasPrefix("/v1/models/") && Self.segments(path).count == 3: return "GET /v1/models/{model}"
        default: return nil
        }
    }

    func credential(_ request: FakeRequest) -> String? { request.header("x-api-key") }

    func authenticate(_ request: FakeRequest, route: String) -> FakeResponse? {
        guard let key = credential(request), !key.isEmpty else {
            return body(401, "authentication_error", "x-api-key header is required")
        }
        guard request.header("anthropic-version") != nil else {
            return body(400, "invalid_request_error", "anthropic-version: header is required")
        }
        return nil
    }

    func body(_ status: Int, _ type: String, _ message: String, headers: [(String, String)] = []) -> FakeResponse {
        .json(status, ["type": "error", "error": ["type": .string(type), "message": .string(message)],
                       "request_id": .string(Self.requestID())], headers: headers)
    }

    static func requestID() -> String { "req_011" + FakeIDs.uuid().replacingOccurrences(of: "-", with: "").prefix(21) }

    func error(_ error: FakeError) -> FakeResponse {
        switch error {
        case let .badRequest(message): return body(400, "invalid_request_error", message)
        case .unauthorized: return body(401, "authentication_error", "invalid x-api-key")
        case .forbidden: return body(403, "permission_error", "Your API key does not have permission to use the specified resource.")
        case let .notFound(message): return body(404, "not_found_error", "model: claude-fake (\(message))")
        case let .rateLimited(seconds):
            return body(429, "rate_limit_error",
                        "This request would exceed the rate limit for your organization of 50 requests per minute.",
                        headers: [("retry-after", Self.retryAfterHeader(seconds))])
        case .quotaExhausted:
            return body(400, "invalid_request_error",
                        "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.")
        case .serverError: return body(500, "api_error", "Internal server error")
        case .unavailable: return body(503, "api_error", "Service unavailable")
        case .overloaded: return body(529, "overloaded_error", "Overloaded")
        case .tooLarge: return body(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
        }
    }

    func commonHeaders(route: String, status: Int) -> [(String, String)] {
        let limited = status == 429
        let reset = FakeClock.rfc3339(Date().addingTimeInterval(limited ? 1 : 60))
        var headers: [(String, String)] = [("request-id", Self.requestID()), ("anthropic-organization-id", "org-fake")]
        for (family, limit) in [("requests", 50), ("tokens", 90_000), ("input-tokens", 80_000), ("output-tokens", 16_000)] {
            headers += [("anthropic-ratelimit-\(family)-limit", String(limit)),
                        ("anthropic-ratelimit-\(family)-remaining", limited ? "0" : String(limit - 1)),
                        ("anthropic-ratelimit-\(family)-reset", reset)]
        }
        return headers
    }

    static let models = [("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5"), ("claude-haiku-4-5-20251001", "Claude Haiku 4.5"),
                         ("claude-opus-4-5-20251101", "Claude Opus 4.5")]

    func respond(_ call: FakeCall) -> FakeResponse {
        switch call.route {
        case "GET /v1/models":
            let data = Self.models.map { Self.model($0.0, $0.1) }
            return .json(200, ["data": .array(data), "has_more": false, "first_id": .optional(Self.models.first?.0),
                               "last_id": .optional(Self.models.last?.0)])
        case "GET /v1/models/{model}":
            return .json(200, Self.model(String((Self.segments(call.path).last ?? "").prefix(128)), "Claude"))
        case "POST /v1/messages/count_tokens":
            guard let json = call.json, json["model"]?.string != nil, let messages = json["messages"]?.array else {
                return error(.badRequest("messages: Field required"))
            }
            return .json(200, ["input_tokens": .int(Self.inputTokens(json, messages: messages))])
        default:
            return messages(call)
        }
    }

    static func model(_ id: String, _ name: String) -> JSONValue {
        ["type": "model", "id": .string(id), "display_name": .string(name), "created_at": "2025-09-29T00:00:00Z",
         "max_input_tokens": 200_000, "max_tokens": 64_000]
    }

    /// Message and system text at four bytes a token, plus a little framing per message.
    static func inputTokens(_ json: RequestJSON, messages: [RequestJSON]) -> Int {
        let system = json["system"]?.allStrings ?? []
        let texts = messages.flatMap { $0["content"]?.allStrings ?? [] } + system
        return texts.map(FakeUsage.tokens).reduce(0, +) + 4 * messages.count + 3
    }

    private func messages(_ call: FakeCall) -> FakeResponse {
        guard let json = call.json else { return error(.badRequest("messages: Input should be a valid JSON object")) }
        guard let model = json["model"]?.string, !model.isEmpty else { return error(.badRequest("model: Field required")) }
        guard let maxTokens = json["max_tokens"] else { return error(.badRequest("max_tokens: Field required")) }
        guard let limit = maxTokens.int(in: 1...1_000_000) else {
            return error(.badRequest("max_tokens: Input should be a valid integer greater than or equal to 1"))
        }
        guard let messages = json["messages"]?.array, !messages.isEmpty else {
            return error(.badRequest("messages: Field required"))
        }
        let input = Self.inputTokens(json, messages: messages)
        let lastUser = messages.last { $0["role"]?.string == "user" }?["content"]?.allStrings.joined(separator: " ") ?? ""
        var text: String
        var stop: String
        if call.behavior.name == .refused {
            text = "I can't help with that."
            stop = "refusal"
        } else {
            let (reply, cut) = FakeUsage.limit(FakeUsage.reply(provider: "anthropic", prompt: lastUser), maxTokens: limit)
            text = reply
            stop = cut ? "max_tokens" : "end_turn"
        }
        let output = FakeUsage.tokens(text)
        let id = "msg_01" + FakeIDs.uuid().replacingOccurrences(of: "-", with: "").prefix(22)
        let resolved = Self.models.first { $0.0.hasPrefix(model) }?.0 ?? model
        if json["stream"]?.bool == true {
            return stream(id: id, model: resolved, text: text, stop: stop, input: input, output: output)
        }
        return .json(200, [
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(resolved),
            "content": [["type": "text", "text": .string(text)]], "stop_reason": .string(stop), "stop_sequence": .null,
            "usage": ["input_tokens": .int(input), "output_tokens": .int(output), "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "service_tier": "standard"],
        ])
    }

    /// The Messages stream as events, sent one by one (`FakeResponse.events`).
    private func stream(id: String, model: String, text: String, stop: String, input: Int, output: Int) -> FakeResponse {
        func event(_ name: String, _ data: JSONValue) -> String { "event: \(name)\ndata: \(data.text)\n\n" }
        var out: [String] = []
        out.append(event("message_start", ["type": "message_start", "message": [
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": [],
            "stop_reason": .null, "stop_sequence": .null, "usage": ["input_tokens": .int(input), "output_tokens": 1]]]))
        out.append(event("content_block_start", ["type": "content_block_start", "index": 0,
                                                 "content_block": ["type": "text", "text": ""]]))
        out.append(event("ping", ["type": "ping"]))
        let firstContent = out.count
        var rest = Substring(text)
        while !rest.isEmpty {
            out.append(event("content_block_delta", ["type": "content_block_delta", "index": 0,
                                                 "delta": ["type": "text_delta", "text": .string(String(rest.prefix(12)))]]))
            rest = rest.dropFirst(12)
        }
        out.append(event("content_block_stop", ["type": "content_block_stop", "index": 0]))
        out.append(event("message_delta", ["type": "message_delta", "delta": ["stop_reason": .string(stop), "stop_sequence": .null],
                                           "usage": ["output_tokens": .int(output)]]))
        out.append(event("message_stop", ["type": "message_stop"]))
        return .events(out, firstContent: firstContent)
    }
}

import Foundation

/// OpenRouter (providers.md §3): OpenAI-compatible chat with `usage.cost` and `provider`, key
/// info, the public model list. Base URL: `<origin>/openrouter/api/v1`.
struct OpenRouterFake: ProviderFake {
    let name = "openrouter"
    let prefixes = ["/openrouter/api/v1"]
    private let chat = ChatCompletionFake(provider: "openrouter", isOpenRouter: true)

    func route(method: String, path: String) -> String? {
        switch (method, path) {
        case ("POST", "/chat/completions"): return "POST /api/v1/chat/completions"
        case ("GET", "/models"): return "GET /api/v1/models"
        case ("GET", "/key"), ("GET", "/auth/key"): return "GET /api/v1/key"
        case ("GET", "/credits"): return "GET /api/v1/credits"
        default: return nil
        }
    }

    func credential(_ request: FakeRequest) -> String? { Self.bearer(request) }

    func authenticate(_ request: FakeRequest, route: String) -> FakeResponse? {
        // The model list is public (§3.2).
        guard route != "GET /api/v1/models" else { return nil }
        guard let key = credential(request), !key.isEmpty else { return body(401, "No auth credentials found") }
        return nil
    }

    func body(_ status: Int, _ message: String, metadata: JSONValue? = nil, headers: [(String, String)] = []) -> FakeResponse {
        var error: [(String, JSONValue)] = [("code", .int(status)), ("message", .string(message))]
        if let metadata { error.append(("metadata", metadata)) }
        return .json(status, ["error": .object(error)], headers: headers)
    }

    func error(_ error: FakeError) -> FakeResponse {
        switch error {
        case let .badRequest(message): return body(400, message)
        case .unauthorized: return body(401, "User not found.")
        case .forbidden: return body(403, "This API key is not allowed to use the requested model.")
        case let .notFound(message): return body(404, "No endpoints found for openai/gpt-fake. (\(message))")
        case let .rateLimited(seconds):
            return body(429, "Rate limit exceeded: free-models-per-min.", headers: [("Retry-After", Self.retryAfterHeader(seconds))])
        case .quotaExhausted:
            return body(402, "Insufficient credits. This account never purchased credits. Make sure your key is on the "
                    + "correct account or org, and if so, purchase more at https://openrouter.ai/settings/credits",
                        metadata: ["limit_source": "openrouter_credits"])
        case .serverError: return body(500, "Internal Server Error")
        case .unavailable:
            return body(503, "No endpoints found that can handle the requested parameters.", headers: [("Retry-After", "1")])
        case .overloaded:
            return body(502, "Provider returned error", metadata: ["provider_name": "OpenAI", "raw": "upstream overloaded"])
        case .tooLarge: return body(413, "Request body too large")
        }
    }

    func commonHeaders(route: String, status: Int) -> [(String, String)] {
        [("X-RateLimit-Limit", "1000"), ("X-RateLimit-Remaining", status == 429 ? "0" : "999"),
         ("X-RateLimit-Reset", String((FakeClock.unix + 60) * 1000))]
    }

    func respond(_ call: FakeCall) -> FakeResponse {
        switch call.route {
        case "GET /api/v1/models":
            return .json(200, ["data": [[
                "id": "openai/gpt-4o-mini", "canonical_slug": "openai/gpt-4o-mini", "name": "OpenAI: GPT-4o-mini",
                "created": 1_721_260_800, "description": "A fake model list entry.", "context_length": 128_000,
                "architecture": ["modality": "text+image->text", "input_modalities": ["text", "image"],
                                 "output_modalities": ["text"], "tokenizer": "GPT", "instruct_type": .null],
                "pricing": ["prompt": "0.00000015", "completion": "0.0000006", "request": "0", "image": "0",
                            "web_search": "0", "internal_reasoning": "0", "input_cache_read": "0.000000075"],
                "top_provider": ["context_length": 128_000, "max_completion_tokens": 16_384, "is_moderated": true],
                "per_request_limits": .null, "supported_parameters": ["max_tokens", "temperature", "seed"],
            ]]])
        case "GET /api/v1/key":
            return .json(200, ["data": [
                "label": "sk-or-v1-fak...e00", "limit": 100, "limit_remaining": .decimal(Decimal(string: "74.5") ?? 0),
                "limit_reset": "monthly", "include_byok_in_limit": false, "usage": .decimal(Decimal(string: "25.5") ?? 0),
                "usage_daily": .decimal(Decimal(string: "1.25") ?? 0), "usage_weekly": 5, "usage_monthly": .decimal(Decimal(string: "25.5") ?? 0),
                "is_free_tier": false, "is_provisioning_key": false, "expires_at": .null,
                "rate_limit": ["requests": 1000, "interval": "1h", "note": "This field is deprecated and safe to ignore."],
            ]])
        case "GET /api/v1/credits":
            return .json(200, ["data": ["total_credits": 100, "total_usage": .decimal(Decimal(string: "25.5") ?? 0)]])
        default:
            return completion(call)
        }
    }

    private func completion(_ call: FakeCall) -> FakeResponse {
        if call.behavior.name == .refused {
            // Moderation flags the input before any model runs (§3.4).
            return body(403, "Input was flagged by moderation.", metadata: [
                "reasons": ["violence"], "flagged_input": "[fake:refused]", "provider_name": "OpenAI",
                "model_slug": "openai/gpt-4o-mini"])
        }
        let (parsed, problem) = chat.parse(call.json, refused: false)
        guard let parsed else { return error(.badRequest(problem ?? "invalid body")) }
        let id = "gen-\(FakeClock.unix)-" + FakeIDs.uuid().replacingOccurrences(of: "-", with: "").prefix(20)
        let headers = [("X-Generation-Id", String(id))]
        if parsed.stream {
            return chat.stream(parsed, id: id, headers: headers)
        }
        return .json(200, chat.completion(parsed, id: id, withUsage: call.behavior.name != .noUsage), headers: headers)
    }
}

import Foundation

/// OpenAI (providers.md §1): chat completions (JSON and SSE), gpt-image generations with image
/// token usage, speech as raw audio, the model list. Base URL: `<origin>/openai/v1`.
struct OpenAIFake: ProviderFake {
    let name = "openai"
    let prefixes = ["/openai/v1"]
    private let chat = ChatCompletionFake(provider: "openai", isOpenRouter: false)

    func route(method: String, path: String) -> String? {
        let parts = Self.segments(path)
        switch (method, parts.count, parts.first) {
        case ("GET", 1, "models"): return "GET /v1/models"
        case ("GET", 2, "models"): return "GET /v1/models/{model}"
        case ("POST", 2, "chat") where parts.last == "completions": return "POST /v1/chat/completions"
        case ("POST", 2, "images") where parts.last == "generations": return "POST /v1/images/generations"
        case ("POST", 2, "audio") where parts.last == "speech": return "POST /v1/audio/speech"
        default: return nil
        }
    }

    func credential(_ request: FakeRequest) -> String? { Self.bearer(request) }

    func authenticate(_ request: FakeRequest, route: String) -> FakeResponse? {
        guard let key = credential(request), !key.isEmpty else {
            return body(401, "You didn't provide an API key. You need to provide your API key in an "
                    + "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                        type: "invalid_request_error", code: nil)
        }
        return nil
    }

    func body(_ status: Int, _ message: String, type: String, code: String?, param: String? = nil,
              headers: [(String, String)] = []) -> FakeResponse {
        .json(status, ["error": ["message": .string(message), "type": .string(type), "param": .optional(param),
                                 "code": .optional(code)]], headers: headers)
    }

    func error(_ error: FakeError) -> FakeResponse {
        switch error {
        case let .badRequest(message):
            return body(400, message, type: "invalid_request_error", code: "invalid_value")
        case .unauthorized:
            return body(401, "Incorrect API key provided: sk-fak***********oops. You can find "
                    + "your API key at https://platform.openai.com/account/api-keys.",
                        type: "invalid_request_error", code: "invalid_api_key")
        case .forbidden:
            return body(403, "Country, region, or territory not supported", type: "request_forbidden",
                        code: "unsupported_country_region_territory")
        case let .notFound(message):
            return body(404, "The model 'gpt-fake' does not exist or you do not have access to it. (\(message))",
                        type: "invalid_request_error", code: "model_not_found")
        case let .rateLimited(seconds):
            return body(429, "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): "
                    + "Limit 500, Used 500, Requested 1. Please try again in \(Self.retryAfterHeader(seconds))s.",
                        type: "requests", code: "rate_limit_exceeded",
                        headers: [("retry-after", Self.retryAfterHeader(seconds)),
                                  ("retry-after-ms", String(Int(seconds * 1000)))])
        case .quotaExhausted:
            return body(429, "You exceeded your current quota, please check your plan and billing details. For more information "
                    + "on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
                        type: "insufficient_quota", code: "insufficient_quota")
        case .serverError:
            return body(500, "The server had an error while processing your request. Sorry about that!", type: "server_error", code: nil)
        case .unavailable, .overloaded:
            return body(503, "The engine is currently overloaded, please try again later", type: "server_error", code: nil)
        case .tooLarge:
            return body(413, "Request too large.", type: "invalid_request_error", code: "request_too_large")
        }
    }

    func commonHeaders(route: String, status: Int) -> [(String, String)] {
        let limited = status == 429
        return [
            ("x-request-id", "req_" + FakeIDs.uuid().replacingOccurrences(of: "-", with: "")),
            ("openai-version", "2020-10-01"), ("openai-organization", "org-fake"), ("openai-processing-ms", "12"),
            ("x-ratelimit-limit-requests", "500"), ("x-ratelimit-limit-tokens", "200000"),
            ("x-ratelimit-remaining-requests", limited ? "0" : "499"),
            ("x-ratelimit-remaining-tokens", limited ? "0" : "199000"),
            ("x-ratelimit-reset-requests", limited ? "1s" : "120ms"), ("x-ratelimit-reset-tokens", limited ? "1s" : "300ms"),
        ]
    }

    func respond(_ call: FakeCall) -> FakeResponse {
        switch call.route {
        case "GET /v1/models":
            return .json(200, ["object": "list", "data": .array(["gpt-4o-mini", "gpt-4o", "gpt-image-1", "tts-1"].map(Self.model))])
        case "GET /v1/models/{model}":
            let id = Self.segments(call.path).last ?? ""
            return .json(200, Self.model(String(id.prefix(128))))
        case "POST /v1/chat/completions":
            return chatCompletion(call)
        case "POST /v1/images/generations":
            return image(call)
        default:
            return speech(call)
        }
    }

    static func model(_ id: String) -> JSONValue {
        ["id": .string(id), "object": "model", "created": 1_715_367_049, "owned_by": "system"]
    }

    private func chatCompletion(_ call: FakeCall) -> FakeResponse {
        let (parsed, problem) = chat.parse(call.json, refused: call.behavior.name == .refused)
        guard let parsed else { return error(.badRequest(problem ?? "invalid body")) }
        let id = "chatcmpl-" + FakeIDs.uuid().replacingOccurrences(of: "-", with: "").prefix(24)
        if parsed.stream {
            return chat.stream(parsed, id: id)
        }
        return .json(200, chat.completion(parsed, id: id, withUsage: call.behavior.name != .noUsage))
    }

    /// Output image tokens per image (providers.md §1.2): square vs rectangular, by quality.
    static func imageTokens(size: String, quality: String) -> Int {
        let square = size != "1536x1024" && size != "1024x1536"
        switch quality {
        case "low": return square ? 272 : 408
        case "high": return square ? 4160 : 6240
        default: return square ? 1056 : 1584
        }
    }

    private func image(_ call: FakeCall) -> FakeResponse {
        guard let json = call.json, let prompt = json["prompt"]?.string, !prompt.isEmpty else {
            return error(.badRequest("Missing required parameter: 'prompt'."))
        }
        let count = json["n"].map { $0.int(in: 1...10) } ?? 1
        guard let count else { return error(.badRequest("Invalid 'n': must be an integer from 1 to 10.")) }
        let size = json["size"]?.string ?? "1024x1024"
        guard ["1024x1024", "1536x1024", "1024x1536", "auto"].contains(size) else {
            return error(.badRequest("Invalid value: '\(size.prefix(40))'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'."))
        }
        let quality = json["quality"]?.string ?? "auto"
        guard ["low", "medium", "high", "auto"].contains(quality) else {
            return error(.badRequest("Invalid value for 'quality'. Supported values are: 'low', 'medium', 'high', and 'auto'."))
        }
        let format = json["output_format"]?.string ?? "png"
        guard ["png", "jpeg", "webp"].contains(format) else {
            return error(.badRequest("Invalid value for 'output_format'. Supported values are: 'png', 'jpeg', and 'webp'."))
        }
        if call.behavior.name == .refused {
            return body(400, "Your request was rejected as a result of our safety system. Your "
                    + "request may contain content that is not allowed by our safety system.",
                        type: "image_generation_user_error", code: "moderation_blocked")
        }
        let effectiveSize = size == "auto" ? "1024x1024" : size
        let effectiveQuality = quality == "auto" ? "medium" : quality
        let perImage = Self.imageTokens(size: effectiveSize, quality: effectiveQuality)
        let input = FakeUsage.tokens(prompt)
        let bytes = format == "jpeg" ? Assets.jpeg : Assets.png
        let item: JSONValue = ["b64_json": .string(bytes.base64EncodedString())]
        return .json(200, [
            "created": .int(FakeClock.unix), "background": "opaque", "output_format": .string(format),
            "quality": .string(effectiveQuality), "size": .string(effectiveSize),
            "data": .array(Array(repeating: item, count: count)),
            "usage": ["input_tokens": .int(input), "input_tokens_details": ["text_tokens": .int(input), "image_tokens": 0],
                      "output_tokens": .int(perImage * count), "total_tokens": .int(input + perImage * count),
                      "output_tokens_details": ["image_tokens": .int(perImage * count), "text_tokens": 0]],
        ])
    }

    private func speech(_ call: FakeCall) -> FakeResponse {
        guard let json = call.json, let model = json["model"]?.string, !model.isEmpty else {
            return error(.badRequest("Missing required parameter: 'model'."))
        }
        guard let input = json["input"]?.string, !input.isEmpty else {
            return error(.badRequest("Missing required parameter: 'input'."))
        }
        guard input.count <= 4096 else {
            return error(.badRequest("[{'type': 'string_too_long', 'loc': ('body', 'input'), 'msg': 'String should have at most 4096 characters'}]"))
        }
        guard json["voice"] != nil else { return error(.badRequest("Missing required parameter: 'voice'.")) }
        if call.behavior.name == .refused {
            return body(400, "Your request was rejected as a result of our safety system.", type: "invalid_request_error",
                        code: "moderation_blocked")
        }
        let format = json["response_format"]?.string ?? "mp3"
        guard ["mp3", "opus", "aac", "flac", "wav", "pcm"].contains(format) else {
            return error(.badRequest("Invalid value for 'response_format'."))
        }
        let (bytes, mime) = Assets.audio(format)
        return .bytes(bytes, contentType: mime)
    }
}

import Foundation

/// ElevenLabs (providers.md §4): text-to-speech as audio bytes with `character-cost`, voices,
/// subscription quota, models; `xi-api-key`. Base URL: `<origin>/elevenlabs`.
struct ElevenLabsFake: ProviderFake {
    let name = "elevenlabs"
    let prefixes = ["/elevenlabs"]

    static let rachel = "21m00Tcm4TlvDq8ikWAM"
    static let sarah = "EXAVITQu4vr4xnSDxMaL"

    func route(method: String, path: String) -> String? {
        let parts = Self.segments(path)
        switch (method, path) {
        case ("GET", "/v1/voices"): return "GET /v1/voices"
        case ("GET", "/v1/user/subscription"): return "GET /v1/user/subscription"
        case ("GET", "/v1/user"): return "GET /v1/user"
        case ("GET", "/v1/models"): return "GET /v1/models"
        default: break
        }
        guard method == "POST", parts.count >= 3, parts.first == "v1", parts[safe: 1] == "text-to-speech" else { return nil }
        switch parts.count {
        case 3: return "POST /v1/text-to-speech/{voice_id}"
        case 4 where parts.last == "stream": return "POST /v1/text-to-speech/{voice_id}/stream"
        default: return nil
        }
    }

    func credential(_ request: FakeRequest) -> String? { request.header("xi-api-key") }

    func authenticate(_ request: FakeRequest, route: String) -> FakeResponse? {
        guard let key = credential(request), !key.isEmpty else {
            return body(401, "needs_authorization", "Neither authorization header nor xi-api-key received, please provide one.")
        }
        return nil
    }

    func body(_ status: Int, _ code: String, _ message: String, headers: [(String, String)] = []) -> FakeResponse {
        .json(status, ["detail": ["status": .string(code), "message": .string(message)]], headers: headers)
    }

    func error(_ error: FakeError) -> FakeResponse {
        switch error {
        case let .badRequest(message):
            return .json(422, ["detail": [["loc": ["body", "text"], "msg": .string(message), "type": "value_error"]]])
        case .unauthorized: return body(401, "invalid_api_key", "Invalid API key")
        case .forbidden: return body(401, "missing_permissions", "The API key you used is missing the permission "
                + "text_to_speech to execute this operation.")
        case let .notFound(message): return body(404, "voice_not_found", "A voice with voice_id fake was not found. (\(message))")
        case let .rateLimited(seconds):
            return body(429, "too_many_concurrent_requests",
                        "Too many concurrent requests. Your current subscription is associated with a maximum of 5 concurrent requests.",
                        headers: [("retry-after", Self.retryAfterHeader(seconds))])
        case .quotaExhausted:
            return body(401, "quota_exceeded",
                        "This request exceeds your quota of 10000. You have 0 credits remaining, while 91 credits are required for this request.")
        case .serverError: return body(500, "internal_server_error", "An internal server error occurred.")
        case .unavailable: return body(503, "service_unavailable", "The service is temporarily unavailable.")
        case .overloaded: return body(429, "system_busy", "Our services are experiencing high levels of traffic. Please try again later.")
        case .tooLarge: return body(413, "payload_too_large", "Request body too large.")
        }
    }

    func commonHeaders(route: String, status: Int) -> [(String, String)] {
        [("request-id", FakeIDs.uuid().replacingOccurrences(of: "-", with: "")), ("x-trace-id", FakeIDs.uuid())]
    }

    func respond(_ call: FakeCall) -> FakeResponse {
        switch call.route {
        case "GET /v1/voices":
            return .json(200, ["voices": [voice(Self.rachel, "Rachel", "female"), voice(Self.sarah, "Sarah", "female")]])
        case "GET /v1/user/subscription":
            return .json(200, subscription)
        case "GET /v1/user":
            return .json(200, ["user_id": "fake-user", "subscription": subscription, "is_new_user": false])
        case "GET /v1/models":
            return .json(200, .array(["eleven_multilingual_v2", "eleven_v3", "eleven_flash_v2_5", "eleven_turbo_v2_5"].map { id in
                ["model_id": .string(id), "name": .string(id), "can_do_text_to_speech": true] }))
        default:
            return speech(call)
        }
    }

    private var subscription: JSONValue {
        ["tier": "creator", "character_count": 12_034, "character_limit": 110_000,
         "next_character_count_reset_unix": .int(FakeClock.unix + 86_400 * 14), "can_extend_character_limit": true,
         "voice_slots_used": 3, "voice_limit": 30, "currency": "usd", "status": "active",
         "billing_period": "monthly_period", "character_refresh_period": "monthly_period"]
    }

    private func voice(_ id: String, _ name: String, _ gender: String) -> JSONValue {
        ["voice_id": .string(id), "name": .string(name), "category": "premade",
         "labels": ["accent": "american", "gender": .string(gender)], "description": .null,
         "preview_url": "https://storage.googleapis.com/fake/preview.mp3", "settings": .null, "available_for_tiers": []]
    }

    /// Credits: one a character for multilingual and v3 models, half for flash and turbo (§9.3).
    static func characterCost(text: String, model: String) -> Int {
        let characters = text.count
        return model.contains("flash") || model.contains("turbo") ? (characters + 1) / 2 : characters
    }

    private func speech(_ call: FakeCall) -> FakeResponse {
        let parts = Self.segments(call.path)
        let voice = parts[safe: 2] ?? ""
        guard let json = call.json else { return error(.badRequest("Input should be a valid dictionary")) }
        guard let text = json["text"]?.string, !text.isEmpty else { return error(.badRequest("Field required")) }
        guard text.count <= 10_000 else { return error(.badRequest("String should have at most 10000 characters")) }
        guard [Self.rachel, Self.sarah].contains(voice) || voice.hasPrefix("fake") || voice.count == 20 else {
            return body(404, "voice_not_found", "A voice with voice_id \(voice.prefix(64)) was not found.")
        }
        if call.behavior.name == .refused {
            return body(400, "content_against_policy", "The text violates our terms of service and cannot be synthesised.")
        }
        let model = json["model_id"]?.string ?? "eleven_multilingual_v2"
        let format = call.request.query["output_format"] ?? "mp3_44100_128"
        let (bytes, mime) = Assets.audio(format)
        return .bytes(bytes, contentType: mime, headers: [("character-cost", String(Self.characterCost(text: text, model: model)))])
    }
}

import Foundation
import Providers
import TestSupport

/// ElevenLabs per providers.md §4: `xi-api-key`, binary TTS with `character-cost`, voices,
/// subscription, FastAPI-style `{"detail":{...}}` errors including the 401 quota answer.
final class FakeElevenLabs: Sendable {
    let server: FakeHTTPServer
    let counters = FakeCounters()
    /// Keys that may use TTS but not read the subscription (a restricted key).
    static let restrictedKey = TestKeys.elevenLabsRestricted
    var baseURL: String { server.baseURL }

    init() throws {
        let counters = counters
        server = try FakeHTTPServer { request in FakeElevenLabs.route(request, counters: counters) }
    }

    static func detail(_ status: Int, _ code: String, _ message: String) -> FakeHTTPServer.Response {
        .json(status, #"{"detail":{"status":"\#(code)","message":"\#(message)"}}"#, headers: [("request-id", "el-req-err")])
    }

    static func route(_ request: FakeHTTPServer.Request, counters: FakeCounters) -> FakeHTTPServer.Response {
        let key = request.header("xi-api-key")
        guard key == TestKeys.elevenLabs || key == restrictedKey else {
            return detail(401, "invalid_api_key", "Invalid API key: \(key ?? "none")")
        }
        switch (request.method, request.path) {
        case ("GET", "/v1/user/subscription"):
            if key == restrictedKey { return detail(401, "missing_permissions", "The API key you used is missing the permission user_read") }
            return .json(200, #"{"tier":"creator","character_count":12034,"character_limit":110000,"next_character_count_reset_unix":1735689600,"can_extend_character_limit":true,"voice_slots_used":3,"voice_limit":30,"currency":"usd","status":"active"}"#)
        case ("GET", "/v1/voices"):
            return .json(200, #"{"voices":[{"voice_id":"21m00Tcm4TlvDq8ikWAM","name":"Rachel","category":"premade","labels":{"accent":"american","gender":"female"},"description":null,"preview_url":"https://storage.example/preview.mp3","settings":null},{"voice_id":"pNInz6obpgDQGcFmaJgB","name":"Adam","category":"premade","labels":{}}]}"#)
        case ("GET", "/v1/models"):
            return .json(200, #"[{"model_id":"eleven_multilingual_v2","can_do_text_to_speech":true}]"#)
        case ("POST", let path) where path.hasPrefix("/v1/text-to-speech/"):
            let voice = String(path.dropFirst("/v1/text-to-speech/".count))
            guard voice == "21m00Tcm4TlvDq8ikWAM" || voice == "pNInz6obpgDQGcFmaJgB" else {
                return detail(400, "voice_not_found", "A voice with voice_id \(voice) was not found.")
            }
            guard let text = request.json?["text"]?.string else {
                return .json(422, #"{"detail":[{"loc":["body","text"],"msg":"Field required","type":"missing"}]}"#)
            }
            if text.contains(Magic.quota) {
                return detail(401, "quota_exceeded", "This request exceeds your quota of 10000. You have 0 credits remaining, while 91 credits are required for this request.")
            }
            if text.contains(Magic.rateLimited), counters.hit("busy") == 1 {
                return detail(429, "system_busy", "We are experiencing heavy traffic, please try again.")
            }
            if text.contains(Magic.huge) {
                return FakeHTTPServer.Response(status: 200, headers: [("Content-Type", "audio/mpeg")],
                                               mode: .oversized(bytes: 16 << 20, declareLength: false))
            }
            let format = request.query["output_format"] ?? "mp3_44100_128"
            let contentType = format.hasPrefix("mp3") ? "audio/mpeg" : "audio/wav"
            return .bytes(200, FakeAssets.mp3, contentType: contentType,
                          headers: [("character-cost", String(text.count)), ("request-id", "el-req-1")])
        default:
            return .json(404, #"{"detail":"Not Found"}"#)
        }
    }
}

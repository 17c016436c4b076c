import Domain
import Foundation

/// ElevenLabs: text-to-speech with output format and voice settings, the account's voices, and
/// subscription quota (providers.md §4).
public struct ElevenLabsProvider: MediaProvider {
    public let id = ProviderID.elevenlabs
    let baseURL: String
    let http: ProviderHTTP
    let capabilityList: PricedCapabilities

    public init(baseURL: String, context: AdapterContext) {
        self.baseURL = baseURL
        self.http = context.http(.elevenlabs, mapError: ElevenLabsErrors.map)
        self.capabilityList = PricedCapabilities(priceList: context.priceList, build: ElevenLabsCatalog.capabilities(priceList:))
    }

    /// Built once per price list (`PricedCapabilities`).
    public func capabilities() -> ProviderCapabilities { capabilityList.current() }

    func headers(_ key: ProviderAPIKey) -> [RequestHeader] {
        [.secret("xi-api-key", key.plaintext)]
    }

    /// `GET /v1/user/subscription` gives the quota; a restricted key may not read it
    /// (`missing_permissions`), in which case `GET /v1/voices` still proves the key works (§4.3).
    public func validateKey(_ key: ProviderAPIKey?) throws(ProviderError) -> KeyValidation {
        let key = try AdapterSupport.requireKey(key, for: id)
        let secrets = [key.plaintext]
        let url = baseURL + "/v1/user/subscription"
        do {
            let (json, _) = try http.sendJSON(AdapterSupport.jsonRequest(.get, url, headers: headers(key)), secrets: secrets)
            let limit = json["character_limit"]?.count.map { Decimal($0) }
            let used = json["character_count"]?.count.map { Decimal($0) }
            var remaining: Decimal?
            if let limit, let used { remaining = limit - used }
            return KeyValidation(provider: id, checkedWith: AdapterSupport.describe(.get, url), account: AccountSummary(
                tier: json["tier"]?.string, unit: "credits", limit: limit, used: used, remaining: remaining,
                resetsAt: json["next_character_count_reset_unix"]?.unixTime))
        } catch where error.kind == .permissionDenied {
            let voicesURL = baseURL + "/v1/voices"
            _ = try http.sendJSON(AdapterSupport.jsonRequest(.get, voicesURL, headers: headers(key)), secrets: secrets)
            return KeyValidation(provider: id, checkedWith: AdapterSupport.describe(.get, voicesURL))
        }
    }

    public func healthCheck(key: ProviderAPIKey?) -> ProviderHealth {
        AdapterSupport.probe(http, AdapterSupport.jsonRequest(.get, baseURL + "/v1/models", headers: key.map(headers) ?? []),
                             secrets: key.map { [$0.plaintext] } ?? [])
    }

    public func voices(key: ProviderAPIKey?) throws(ProviderError) -> [VoiceOption] {
        let key = try AdapterSupport.requireKey(key, for: id)
        let (json, response) = try http.sendJSON(AdapterSupport.jsonRequest(.get, baseURL + "/v1/voices", headers: headers(key)),
                                                 secrets: [key.plaintext])
        guard let voices = json["voices"]?.array else {
            throw http.malformed("voices answer without voices", response: response, secrets: [key.plaintext])
        }
        return voices.compactMap { voice in
            guard let id = voice["voice_id"]?.string else { return nil }
            var labels: [String: String] = [:]
            for entry in voice["labels"]?.object?.entries ?? [] { labels[entry.key] = entry.value.string }
            return VoiceOption(id: id, name: voice["name"]?.string ?? id, category: voice["category"]?.string,
                               labels: labels, previewURL: voice["preview_url"]?.string)
        }
    }

    /// The audio streams to a file. Usage is the character count, and `character-cost` (credits
    /// actually charged) becomes `providerCredits`.
    public func submit(_ request: GenerationRequest, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        let key = try AdapterSupport.requireKey(key, for: id)
        _ = try AdapterSupport.validated(request, against: capabilities())
        let secrets = [key.plaintext]
        let parameters = request.parameters
        let voice: String
        if let chosen = parameters.voice {
            voice = chosen
        } else {
            // Premade voice ids changed in 2026 (§4.2): use one the account really has.
            guard let first = try voices(key: key).first else {
                throw ProviderError(.badRequest, provider: id, message: "the account has no voices; pass a voice id")
            }
            voice = first.id
        }
        let format = parameters.outputFormat ?? ElevenLabsCatalog.defaultFormat
        var body = WireJSONObject()
        body["text"] = .string(request.prompt)
        body["model_id"] = .string(request.model)
        if let settings = parameters.voiceSettings {
            var object = WireJSONObject()
            object["stability"] = settings.stability.map(WireJSON.decimal)
            object["similarity_boost"] = settings.similarityBoost.map(WireJSON.decimal)
            object["style"] = settings.style.map(WireJSON.decimal)
            object["use_speaker_boost"] = settings.useSpeakerBoost.map(WireJSON.bool)
            object["speed"] = settings.speed.map(WireJSON.decimal)
            body["voice_settings"] = .object(object)
        }
        body["seed"] = parameters.seed.map(WireJSON.int)
        let file = ElevenLabsCatalog.file(for: format)
        let path = try AdapterSupport.outputPath(in: request.outputDirectory, fileExtension: file.ext, provider: id)
        let escapedVoice = voice.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? voice
        let url = baseURL + "/v1/text-to-speech/\(escapedVoice)?output_format=\(format)"
        let call = OutboundRequest(method: .post, url: url,
                               headers: headers(key) + [RequestHeader("Content-Type", "application/json")],
                               body: WireJSON.object(body).serialized(), destination: .file(path), atMostOnce: true)
        let response = try await http.send(call, secrets: secrets)
        return .finished(GenerationOutput(
            provider: id, model: request.model, kind: .audio,
            files: [OutputFile(path: path, mimeType: file.mime, byteCount: response.bodyByteCount)],
            usage: NormalisedUsage(characters: request.prompt.unicodeScalars.count,
                                   providerCredits: ReportedNumbers.amount(response.headers["character-cost"].flatMap { Decimal(string: $0) }),
                                   providerCreditUnit: "elevenlabs_credits"),
            providerRequestID: response.headers["request-id"]))
    }

    public func poll(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        throw ProviderError(.unsupported, provider: id, message: "ElevenLabs speech finishes synchronously; there is nothing to poll")
    }

    public func cancel(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> CancelOutcome {
        .notSupported
    }
}

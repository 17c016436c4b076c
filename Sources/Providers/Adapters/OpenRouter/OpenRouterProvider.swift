import Domain
import Foundation

/// OpenRouter: OpenAI-compatible chat with the charged cost in `usage.cost`, and key info
/// (providers.md §3).
public struct OpenRouterProvider: MediaProvider {
    public let id = ProviderID.openrouter
    let baseURL: String
    let http: ProviderHTTP
    let capabilityList: PricedCapabilities

    public init(baseURL: String, context: AdapterContext) {
        self.baseURL = baseURL
        self.http = context.http(.openrouter, mapError: OpenRouterErrors.map)
        self.capabilityList = PricedCapabilities(priceList: context.priceList, build: OpenRouterCatalog.capabilities(priceList:))
    }

    /// Built once per price list (`PricedCapabilities`).
    public func capabilities() -> ProviderCapabilities { capabilityList.current() }

    /// Any well-formed `vendor/model` id is routed, priced or not (unpriced ones are admitted only
    /// where the project accepts unpriced spend).
    public func capability(for model: String, kind: MediaKind) -> ModelCapability? {
        capabilities().model(model, kind: kind)
            ?? (kind == .text && OpenRouterCatalog.isModelID(model) ? OpenRouterCatalog.model(model) : nil)
    }

    func headers(_ key: ProviderAPIKey) -> [RequestHeader] {
        [.secret("Authorization", "Bearer \(key.plaintext)")]
    }

    /// `GET /key` answers 401 for a bad key and returns the key's limit and usage in USD
    /// (providers.md §3.3): the key check and the budget view in one free call.
    public func validateKey(_ key: ProviderAPIKey?) throws(ProviderError) -> KeyValidation {
        let key = try AdapterSupport.requireKey(key, for: id)
        let url = baseURL + "/key"
        let (json, response) = try http.sendJSON(AdapterSupport.jsonRequest(.get, url, headers: headers(key)),
                                                 secrets: [key.plaintext])
        guard let data = json["data"] else {
            throw http.malformed("key info without data", response: response, secrets: [key.plaintext])
        }
        return KeyValidation(provider: id, checkedWith: AdapterSupport.describe(.get, url), account: AccountSummary(
            label: data["label"]?.string.map { SecretScrubber.scrub($0, secrets: [key.plaintext]) },
            tier: data["is_free_tier"]?.bool == true ? "free" : nil,
            unit: "usd", limit: data["limit"]?.decimal, used: data["usage"]?.decimal,
            remaining: data["limit_remaining"]?.decimal))
    }

    public func healthCheck(key: ProviderAPIKey?) -> ProviderHealth {
        // `GET /models` needs no auth, so it measures OpenRouter rather than the key.
        AdapterSupport.probe(http, AdapterSupport.jsonRequest(.get, baseURL + "/models", headers: []), secrets: [])
    }

    /// Usage: as OpenAI (cached tokens inside `prompt_tokens`), plus `usage.cost`, the USD
    /// actually charged, read from the JSON number's text so it stays exact.
    public func submit(_ request: GenerationRequest, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        let key = try AdapterSupport.requireKey(key, for: id)
        let offered = capability(for: request.model, kind: request.kind).map { [$0] } ?? []
        _ = try AdapterSupport.validated(request, against: capabilities().adding(offered))
        let secrets = [key.plaintext]
        let call = AdapterSupport.jsonRequest(.post, baseURL + "/chat/completions", headers: headers(key),
                                              body: ChatCompletions.body(for: request, tokenLimitField: "max_tokens"))
        let (json, response) = try await http.sendJSON(call, secrets: secrets)
        // A failure after routing can arrive as a 200 whose body carries `error` (§3.1, §3.4).
        if let error = json["error"], error.object != nil {
            // The body's code stands in for an HTTP status; anything that is not one is a bad gateway.
            let status = error["code"]?.int.flatMap { (400...599).contains($0) ? $0 : nil } ?? 502
            let synthetic = OutboundResponse(status: status, headers: response.headers, body: response.body, bodyFile: nil,
                                         bodyByteCount: response.bodyByteCount, url: response.url, newConnections: 0)
            throw OpenRouterErrors.map(ErrorResponse(provider: id, response: synthetic, retryAfter: nil, secrets: secrets))
        }
        let parsed = try ChatCompletions.parse(json, http: http, response: response, secrets: secrets)
        return .finished(textOutput(parsed, request, response, usageJSON: json["usage"], upstream: json["provider"]?.string))
    }

    /// A finished chat, streamed or not: the usage object's `cost` is what OpenRouter charged, and the
    /// provider it routed to (named in a non-streamed answer) becomes a note.
    private func textOutput(_ parsed: ChatCompletions.Parsed, _ request: GenerationRequest, _ response: OutboundResponse,
                            usageJSON: WireJSON?, upstream: String?) -> GenerationOutput {
        var usage = parsed.usage
        usage.providerReportedCostUSD = usageJSON?["cost"]?.amount
        var notes: [String] = parsed.refused ? ["content_refused"] : []
        if let upstream { notes.append("routed_to:\(upstream)") }
        return GenerationOutput(provider: id, model: parsed.model ?? request.model, kind: .text, text: parsed.text,
                                usage: usage, providerRequestID: response.headers["x-generation-id"] ?? parsed.id,
                                finishReason: parsed.finishReason, notes: notes, rateLimits: response.headers.rateLimits)
    }

    /// The same chat, streamed; the last chunk carries the usage with `cost` (providers.md §3.1).
    public func submitStreaming(_ request: GenerationRequest, key: ProviderAPIKey?,
                                sink: TextDeltaSink) async throws(ProviderError) -> ProviderResult {
        guard request.kind == .text else { return try await submit(request, key: key) }
        let key = try AdapterSupport.requireKey(key, for: id)
        let offered = capability(for: request.model, kind: request.kind).map { [$0] } ?? []
        _ = try AdapterSupport.validated(request, against: capabilities().adding(offered))
        let secrets = [key.plaintext]
        let call = ChatCompletions.streamingRequest(baseURL + "/chat/completions", headers: headers(key),
                                                    body: ChatCompletions.body(for: request, tokenLimitField: "max_tokens"))
        let stream = TextStream(.chatCompletions, sink: sink)
        let response = try await http.sendStreaming(call, to: stream, secrets: secrets)
        let parsed = try ChatCompletions.parse(stream, http: http, response: response, secrets: secrets)
        return .finished(textOutput(parsed, request, response, usageJSON: stream.usageJSON, upstream: nil))
    }

    public func poll(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        throw ProviderError(.unsupported, provider: id, message: "OpenRouter chat finishes synchronously; there is nothing to poll")
    }

    public func cancel(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> CancelOutcome {
        .notSupported
    }
}

import Domain
import Foundation

/// Anthropic: messages and the free count_tokens (providers.md §2).
public struct AnthropicProvider: MediaProvider {
    public let id = ProviderID.anthropic
    static let apiVersion = "2023-06-01"
    let baseURL: String
    let http: ProviderHTTP
    let capabilityList: PricedCapabilities

    public init(baseURL: String, context: AdapterContext) {
        self.baseURL = baseURL
        self.http = context.http(.anthropic, mapError: AnthropicErrors.map)
        self.capabilityList = PricedCapabilities(priceList: context.priceList, build: AnthropicCatalog.capabilities(priceList:))
    }

    /// Built once per price list (`PricedCapabilities`).
    public func capabilities() -> ProviderCapabilities { capabilityList.current() }

    func headers(_ key: ProviderAPIKey) -> [RequestHeader] {
        [.secret("x-api-key", key.plaintext), RequestHeader("anthropic-version", Self.apiVersion)]
    }

    public func validateKey(_ key: ProviderAPIKey?) throws(ProviderError) -> KeyValidation {
        let key = try AdapterSupport.requireKey(key, for: id)
        let url = baseURL + "/v1/models"
        _ = try http.sendJSON(AdapterSupport.jsonRequest(.get, url, headers: headers(key)), secrets: [key.plaintext])
        return KeyValidation(provider: id, checkedWith: AdapterSupport.describe(.get, url))
    }

    public func healthCheck(key: ProviderAPIKey?) -> ProviderHealth {
        var headers = [RequestHeader("anthropic-version", Self.apiVersion)]
        if let key { headers = self.headers(key) }
        return AdapterSupport.probe(http, AdapterSupport.jsonRequest(.get, baseURL + "/v1/models", headers: headers),
                                    secrets: key.map { [$0.plaintext] } ?? [])
    }

    func messagesBody(_ request: GenerationRequest, includeMaxTokens: Bool) -> WireJSON {
        var body = WireJSONObject()
        body["model"] = .string(request.model)
        if includeMaxTokens {
            body["max_tokens"] = .int(request.parameters.maxOutputTokens ?? AnthropicCatalog.defaultMaxTokens)
        }
        // `system` is a top-level field, not a message role, in this API.
        body["system"] = request.parameters.systemPrompt.map(WireJSON.string)
        body["messages"] = [["role": "user", "content": .string(request.prompt)]]
        if let chat = request.parameters.chat {
            // A chat conversation: its system (and developer) messages become `system`, the rest stay turns.
            let system = chat.messages.filter { $0.role == "system" || $0.role == "developer" }.map(\.content)
            body["system"] = system.isEmpty ? nil : .string(system.joined(separator: "\n\n"))
            body["messages"] = .array(chat.messages.filter { $0.role == "user" || $0.role == "assistant" }
                .map { ["role": .string($0.role), "content": .string($0.content)] })
        }
        if includeMaxTokens {
            body["temperature"] = request.parameters.temperature.map(WireJSON.decimal)
        }
        return .object(body)
    }

    /// Usage: Anthropic's `input_tokens` already excludes cache reads and writes (providers.md
    /// §2.1), so the counts map one to one. A `refusal` stop is billed and comes back finished
    /// with a `content_refused` note.
    public func submit(_ request: GenerationRequest, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        let key = try AdapterSupport.requireKey(key, for: id)
        _ = try AdapterSupport.validated(request, against: capabilities())
        let secrets = [key.plaintext]
        let call = AdapterSupport.jsonRequest(.post, baseURL + "/v1/messages", headers: headers(key),
                                              body: messagesBody(request, includeMaxTokens: true))
        let (json, response) = try await http.sendJSON(call, secrets: secrets)
        guard let blocks = json["content"]?.array else {
            throw http.malformed("message without content", response: response, secrets: secrets)
        }
        let text = blocks.filter { $0["type"]?.string == "text" }.compactMap { $0["text"]?.string }.joined()
        return .finished(output(request, text: text, usage: json["usage"], outputTokens: json["usage"]?["output_tokens"]?.count,
                                stopReason: json["stop_reason"]?.string, model: json["model"]?.string,
                                requestID: response.headers["request-id"] ?? json["id"]?.string, response: response))
    }

    /// The same message, streamed (providers.md §2.1): input usage from `message_start`, the
    /// output count and stop reason from `message_delta`, text from `content_block_delta`.
    public func submitStreaming(_ request: GenerationRequest, key: ProviderAPIKey?,
                                sink: TextDeltaSink) async throws(ProviderError) -> ProviderResult {
        let key = try AdapterSupport.requireKey(key, for: id)
        _ = try AdapterSupport.validated(request, against: capabilities())
        let secrets = [key.plaintext]
        var fields = messagesBody(request, includeMaxTokens: true).object ?? WireJSONObject()
        fields["stream"] = .bool(true)
        var call = AdapterSupport.jsonRequest(.post, baseURL + "/v1/messages", headers: headers(key), body: .object(fields))
        call.headers.removeAll { $0.name == "Accept" }
        call.headers.append(RequestHeader("Accept", "text/event-stream"))
        let stream = TextStream(.anthropicMessages, sink: sink)
        let response = try await http.sendStreaming(call, to: stream, secrets: secrets)
        guard stream.inputUsageJSON != nil, let outputTokens = stream.outputTokens else {
            throw http.malformed("the stream ended without its usage", response: response, secrets: secrets)
        }
        return .finished(output(request, text: stream.text, usage: stream.inputUsageJSON, outputTokens: outputTokens,
                                stopReason: stream.finishReason, model: stream.model,
                                requestID: response.headers["request-id"] ?? stream.id, response: response))
    }

    /// Usage: Anthropic's `input_tokens` already excludes cache reads and writes, so the counts
    /// map one to one; 1-hour cache writes are part of `cache_creation_input_tokens` and priced higher.
    private func output(_ request: GenerationRequest, text: String, usage: WireJSON?, outputTokens: Int?, stopReason: String?,
                        model: String?, requestID: String?, response: OutboundResponse) -> GenerationOutput {
        GenerationOutput(
            provider: id, model: model ?? request.model, kind: .text, text: text,
            usage: Self.finishedUsage(usage, outputTokens: outputTokens),
            providerRequestID: requestID,
            finishReason: stopReason, notes: stopReason == "refusal" ? ["content_refused"] : [],
            rateLimits: response.headers.rateLimits)
    }

    /// A finished message's usage: its output count is required too.
    private static func finishedUsage(_ usage: WireJSON?, outputTokens: Int?) -> NormalisedUsage {
        var normalised = Self.usage(usage, outputTokens: outputTokens)
        if outputTokens == nil { normalised.unreported = (normalised.unreported ?? []) + ["output_tokens"] }
        return normalised
    }

    /// A Messages usage object (or `message_start`'s input side) with the output count.
    /// `input_tokens` must be there and in range, and a cache count that is present too
    /// (`NormalisedUsage.unreported` names those that are not). A missing output count is 0 here:
    /// a finished message's is required by its caller, a broken stream's is counted from its text.
    static func usage(_ usage: WireJSON?, outputTokens: Int?) -> NormalisedUsage {
        var counts = UsageCounts(usage)
        let input = counts.count("input_tokens", required: true)
        let cacheReads = counts.count("cache_read_input_tokens")
        let cacheWrites = counts.count("cache_creation_input_tokens")
        let oneHourWrites = min(cacheWrites, counts.count("cache_creation.ephemeral_1h_input_tokens"))
        var normalised = NormalisedUsage(inputTokens: input, cachedInputReadTokens: cacheReads,
                                         cachedInputWriteTokens: max(0, cacheWrites - oneHourWrites),
                                         cachedInputWriteOneHourTokens: oneHourWrites, outputTokens: outputTokens ?? 0)
        normalised.unreported = counts.unreportedOrNil
        return normalised
    }

    /// `POST /v1/messages/count_tokens`: free, the same body without `max_tokens` (§2.2).
    public func countInputTokens(_ request: GenerationRequest, key: ProviderAPIKey?) throws(ProviderError) -> Int? {
        let key = try AdapterSupport.requireKey(key, for: id)
        _ = try AdapterSupport.validated(request, against: capabilities())
        let secrets = [key.plaintext]
        let call = AdapterSupport.jsonRequest(.post, baseURL + "/v1/messages/count_tokens", headers: headers(key),
                                              body: messagesBody(request, includeMaxTokens: false), idempotent: true)
        let (json, response) = try http.sendJSON(call, secrets: secrets)
        guard let count = json["input_tokens"]?.count else {
            throw http.malformed("count_tokens answer without a plausible input_tokens", response: response, secrets: secrets)
        }
        return count
    }

    public func poll(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> ProviderResult {
        throw ProviderError(.unsupported, provider: id, message: "Anthropic messages finish synchronously; there is nothing to poll")
    }

    public func cancel(_ task: ProviderTask, key: ProviderAPIKey?) async throws(ProviderError) -> CancelOutcome {
        .notSupported
    }
}

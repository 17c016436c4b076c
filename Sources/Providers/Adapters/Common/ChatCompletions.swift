import Domain
import Foundation

/// The OpenAI chat-completions wire format, which OpenRouter speaks too (providers.md §1.1, §3.1).
enum ChatCompletions {
    struct Parsed {
        let text: String
        let finishReason: String?
        let model: String?
        let id: String?
        let usage: NormalisedUsage
        let refused: Bool
    }

    /// `tokenLimitField` is `max_completion_tokens` for OpenAI (reasoning models reject the
    /// deprecated `max_tokens`) and `max_tokens` for OpenRouter.
    static func body(for request: GenerationRequest, tokenLimitField: String) -> WireJSON {
        if let chat = request.parameters.chat { return body(for: request, chat: chat, tokenLimitField: tokenLimitField) }
        var messages: [WireJSON] = []
        if let system = request.parameters.systemPrompt {
            messages.append(["role": "system", "content": .string(system)])
        }
        messages.append(["role": "user", "content": .string(request.prompt)])
        var body = WireJSONObject()
        body["model"] = .string(request.model)
        body["messages"] = .array(messages)
        body[tokenLimitField] = request.parameters.maxOutputTokens.map(WireJSON.int)
        body["temperature"] = request.parameters.temperature.map(WireJSON.decimal)
        body["seed"] = request.parameters.seed.map(WireJSON.int)
        return .object(body)
    }

    /// A `/v1/chat/completions` request passed on: its messages and sampling options as sent.
    static func body(for request: GenerationRequest, chat: ChatOptions, tokenLimitField: String) -> WireJSON {
        let messages: [WireJSON] = chat.messages.map { message in
            .object(WireJSONObject([("role", .string(message.role)), ("content", .string(message.content)),
                                    ("name", message.name.map(WireJSON.string))]))
        }
        var body = WireJSONObject()
        body["model"] = .string(request.model)
        body["messages"] = .array(messages)
        body[tokenLimitField] = request.parameters.maxOutputTokens.map(WireJSON.int)
        body["temperature"] = chat.temperature.map(WireJSON.decimal)
        body["top_p"] = chat.topP.map(WireJSON.decimal)
        body["seed"] = chat.seed.map(WireJSON.int)
        body["stop"] = chat.stop.map { .array($0.map(WireJSON.string)) }
        body["presence_penalty"] = chat.presencePenalty.map(WireJSON.decimal)
        body["frequency_penalty"] = chat.frequencyPenalty.map(WireJSON.decimal)
        return .object(body)
    }

    /// The streamed form of a body: `stream` and `stream_options.include_usage`, so the last chunk
    /// carries the usage the charge is computed from.
    static func streamingRequest(_ url: String, headers: [RequestHeader], body: WireJSON) -> OutboundRequest {
        var fields = body.object ?? WireJSONObject()
        fields["stream"] = .bool(true)
        fields["stream_options"] = ["include_usage": .bool(true)]
        var call = AdapterSupport.jsonRequest(.post, url, headers: headers, body: .object(fields))
        call.headers.removeAll { $0.name == "Accept" }
        call.headers.append(RequestHeader("Accept", "text/event-stream"))
        return call
    }

    /// What a finished stream adds up to. A stream without its usage chunk cannot be charged
    /// exactly, so it is malformed like a cut one.
    static func parse(_ stream: TextStream, http: ProviderHTTP, response: OutboundResponse,
                      secrets: [String]) throws(ProviderError) -> Parsed {
        guard let usage = stream.usageJSON else {
            throw http.malformed("the stream ended without its usage chunk", response: response, secrets: secrets)
        }
        return Parsed(text: stream.text, finishReason: stream.finishReason, model: stream.model, id: stream.id,
                      usage: self.usage(usage), refused: stream.finishReason == "refusal" || stream.finishReason == "content_filter")
    }

    static func parse(_ json: WireJSON, http: ProviderHTTP, response: OutboundResponse, secrets: [String]) throws(ProviderError) -> Parsed {
        guard let choice = json["choices"]?[0], let message = choice["message"] else {
            throw http.malformed("chat completion without choices[0].message", response: response, secrets: secrets)
        }
        let refusal = message["refusal"]?.string
        let content = message["content"]?.string
        let finishReason = choice["finish_reason"]?.string
        guard content != nil || refusal != nil else {
            throw http.malformed("chat completion message has neither content nor refusal", response: response, secrets: secrets)
        }
        return Parsed(text: content ?? refusal ?? "", finishReason: refusal != nil ? "refusal" : finishReason,
                      model: json["model"]?.string, id: json["id"]?.string, usage: usage(json["usage"]),
                      refused: refusal != nil || finishReason == "content_filter")
    }

    /// `prompt_tokens` includes cached tokens (providers.md §1.1); OpenRouter also reports cache
    /// writes inside it. Split into non-overlapping counts.
    /// The two counts every answer carries must be there and in range; an optional detail that is
    /// present must be in range too (`NormalisedUsage.unreported` names those that are not).
    static func usage(_ usage: WireJSON?) -> NormalisedUsage {
        var counts = UsageCounts(usage)
        let prompt = counts.count("prompt_tokens", required: true)
        let output = counts.count("completion_tokens", required: true)
        let cachedRead = counts.count("prompt_tokens_details.cached_tokens")
        let cachedWrite = counts.count("prompt_tokens_details.cache_write_tokens")
        let reasoning = counts.count("completion_tokens_details.reasoning_tokens")
        // Each is at most 10¹², so the difference cannot overflow.
        var normalised = NormalisedUsage(
            inputTokens: max(0, prompt - cachedRead - cachedWrite),
            cachedInputReadTokens: cachedRead,
            cachedInputWriteTokens: cachedWrite,
            outputTokens: output,
            reasoningTokens: reasoning)
        normalised.unreported = counts.unreportedOrNil
        return normalised
    }
}

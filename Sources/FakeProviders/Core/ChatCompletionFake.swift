import Foundation

/// The chat-completions wire format OpenAI and OpenRouter share (providers.md §1.1, §3.1): the
/// answer, its usage, and the SSE stream when `stream` is true.
struct ChatCompletionFake: Sendable {
    let provider: String
    /// OpenRouter adds `provider`, `native_finish_reason` and `usage.cost`.
    let isOpenRouter: Bool

    struct Parsed {
        let model: String
        let promptTokens: Int
        let reply: String
        let finishReason: String
        let refusal: String?
        let stream: Bool
        /// `stream_options.include_usage`: OpenAI sends the usage chunk only then; OpenRouter always.
        var includeUsage = false
    }

    /// Validates the body as the real API does; nil and a 400 message when it is not acceptable.
    func parse(_ json: RequestJSON?, refused: Bool) -> (Parsed?, String?) {
        guard let json else { return (nil, "We could not parse the JSON body of your request.") }
        guard let model = json["model"]?.string, !model.isEmpty else { return (nil, "you must provide a model parameter") }
        guard let messages = json["messages"]?.array, !messages.isEmpty else {
            return (nil, "'messages' is a required property")
        }
        var maxTokens: Int?
        for field in ["max_completion_tokens", "max_tokens"] {
            guard let value = json[field] else { continue }
            guard let number = value.int(in: 1...10_000_000) else {
                return (nil, "Invalid '\(field)': expected an integer between 1 and the model's limit.")
            }
            maxTokens = number
        }
        let texts = messages.flatMap { $0["content"]?.allStrings ?? [] }
        let promptTokens = texts.map(FakeUsage.tokens).reduce(0, +) + 3 * messages.count + 3
        let lastUser = messages.last { $0["role"]?.string == "user" }?["content"]?.allStrings.joined(separator: " ") ?? ""
        if refused {
            let refusal = "I'm sorry, but I can't help with that request."
            return (Parsed(model: model, promptTokens: promptTokens, reply: refusal, finishReason: "stop", refusal: refusal,
                           stream: json["stream"]?.bool == true), nil)
        }
        let (reply, cut) = FakeUsage.limit(FakeUsage.reply(provider: provider, prompt: lastUser), maxTokens: maxTokens)
        var parsed = Parsed(model: model, promptTokens: promptTokens, reply: reply, finishReason: cut ? "length" : "stop",
                            refusal: nil, stream: json["stream"]?.bool == true)
        parsed.includeUsage = json["stream_options"]?["include_usage"]?.bool == true
        return (parsed, nil)
    }

    func usage(_ parsed: Parsed) -> JSONValue {
        let completion = FakeUsage.tokens(parsed.reply)
        var entries: [(String, JSONValue)] = [
            ("prompt_tokens", .int(parsed.promptTokens)),
            ("completion_tokens", .int(completion)),
            ("total_tokens", .int(parsed.promptTokens + completion)),
        ]
        if isOpenRouter {
            entries.append(("cost", .decimal(Self.cost(prompt: parsed.promptTokens, completion: completion))))
            entries.append(("is_byok", false))
            entries.append(("prompt_tokens_details", ["cached_tokens": 0, "cache_write_tokens": 0, "audio_tokens": 0]))
            entries.append(("cost_details", ["upstream_inference_cost": .null]))
            entries.append(("completion_tokens_details", ["reasoning_tokens": 0]))
        } else {
            entries.append(("prompt_tokens_details", ["cached_tokens": 0, "audio_tokens": 0]))
            entries.append(("completion_tokens_details", ["reasoning_tokens": 0, "audio_tokens": 0,
                                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0]))
        }
        return .object(entries)
    }

    /// OpenRouter's charge at gpt-4o-mini prices ($0.15 / $0.60 per million tokens), exact.
    static func cost(prompt: Int, completion: Int) -> Decimal {
        Decimal(prompt) * Decimal(15) / 100_000_000 + Decimal(completion) * Decimal(6) / 10_000_000
    }

    /// `withUsage` false: the answer leaves out its `usage` (the `no_usage` behaviour).
    func completion(_ parsed: Parsed, id: String, withUsage: Bool = true) -> JSONValue {
        var message: [(String, JSONValue)] = [("role", "assistant")]
        message.append(("content", parsed.refusal == nil ? .string(parsed.reply) : .null))
        message.append(("refusal", .optional(parsed.refusal)))
        if isOpenRouter { message.append(("reasoning", .null)) }
        var choice: [(String, JSONValue)] = [("index", 0), ("logprobs", .null), ("finish_reason", .string(parsed.finishReason))]
        if isOpenRouter { choice.append(("native_finish_reason", .string(parsed.finishReason))) }
        choice.append(("message", .object(message)))
        var body: [(String, JSONValue)] = [("id", .string(id))]
        if isOpenRouter { body.append(("provider", "OpenAI")) }
        body += [("object", "chat.completion"), ("created", .int(FakeClock.unix)), ("model", .string(parsed.model)),
                 ("choices", [.object(choice)])]
        if withUsage { body.append(("usage", usage(parsed))) }
        if !isOpenRouter {
            body += [("service_tier", "default"), ("system_fingerprint", "fp_fake0001")]
        }
        return .object(body)
    }

    /// The stream as events: role chunk, content in pieces, finish chunk, usage chunk (OpenRouter
    /// always, OpenAI with `include_usage`), [DONE]. Sent event by event (`FakeResponse.events`).
    func stream(_ parsed: Parsed, id: String, headers: [(String, String)] = []) -> FakeResponse {
        func chunk(_ delta: JSONValue, finish: JSONValue, usage: JSONValue = .null, choices: Bool = true) -> String {
            let choice: JSONValue = ["index": 0, "delta": delta, "finish_reason": finish]
            let body: JSONValue = ["id": .string(id), "object": "chat.completion.chunk", "created": .int(FakeClock.unix),
                                   "model": .string(parsed.model), "choices": choices ? [choice] : [], "usage": usage]
            return "data: \(body.text)\n\n"
        }
        var events = isOpenRouter ? [": OPENROUTER PROCESSING\n\n"] : []
        events.append(chunk(["role": "assistant", "content": ""], finish: .null))
        let firstContent = events.count
        var rest = Substring(parsed.reply)
        while !rest.isEmpty {
            let key = parsed.refusal == nil ? "content" : "refusal"
            events.append(chunk(.object([(key, .string(String(rest.prefix(12))))]), finish: .null))
            rest = rest.dropFirst(12)
        }
        events.append(chunk([:], finish: .string(parsed.finishReason)))
        if isOpenRouter || parsed.includeUsage {
            events.append(chunk([:], finish: .null, usage: usage(parsed), choices: false))
        }
        events.append("data: [DONE]\n\n")
        return .events(events, firstContent: firstContent, headers: headers)
    }
}

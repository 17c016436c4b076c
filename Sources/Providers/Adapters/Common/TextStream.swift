import Domain
import Foundation

/// One streaming text call: reads the provider's SSE answer as libcurl delivers it, hands each
/// piece of text to the sink, and keeps what the finished output needs (the whole text, usage,
/// finish reason, ids). The two wire formats are OpenAI's chat-completion chunks (OpenAI and
/// OpenRouter, providers.md §1.1, §3.1) and Anthropic's Messages events (§2.1).
///
/// `@unchecked Sendable`: during the transfer only the transfer's thread (libcurl's loop) feeds
/// it; the caller reads it only after the transfer has ended, which orders the two.
final class TextStream: @unchecked Sendable {
    enum Format {
        case chatCompletions
        case anthropicMessages
    }

    let format: Format
    let sink: TextDeltaSink
    private var reader = ServerSentEventReader()

    private(set) var text = ""
    private(set) var finishReason: String?
    private(set) var id: String?
    private(set) var model: String?
    /// OpenAI's final usage object (with `stream_options.include_usage`).
    private(set) var usageJSON: WireJSON?
    /// Anthropic's usage: `message_start` has the input side, `message_delta` the output count.
    private(set) var inputUsageJSON: WireJSON?
    private(set) var outputTokens: Int?
    /// The stream's own end arrived (`[DONE]`, `message_stop`).
    private(set) var ended = false
    /// Why the stream is unusable (malformed), when it is.
    private(set) var malformed: String?
    /// An error object the provider sent inside the stream.
    private(set) var errorJSON: WireJSON?
    private var endDelivered = false

    init(_ format: Format, sink: TextDeltaSink) {
        self.format = format
        self.sink = sink
    }

    /// libcurl's body sink: false stops the transfer (malformed, an in-stream error, a line too long).
    func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let going = reader.feed(bytes) { event in
            switch format {
            case .chatCompletions: chatCompletionEvent(event)
            case .anthropicMessages: anthropicEvent(event)
            }
            return malformed == nil && errorJSON == nil
        }
        if reader.lineTooLong { malformed = "a stream line is over \(ServerSentEventReader.maximumLineBytes) bytes" }
        return going
    }

    /// Whether the stream reached its proper end with nothing wrong; the sink learns the finish reason then.
    func finishedCleanly() -> Bool {
        guard ended, malformed == nil, errorJSON == nil else { return false }
        if !endDelivered {
            endDelivered = true
            sink.end(finishReason)
        }
        return true
    }

    /// The usage the stream reported before it failed, for the error's message (OpenAI sends it
    /// only at the end; Anthropic's input side comes first). It is charged (`partialUsage`).
    var usageSeen: String {
        let input = (usageJSON?["prompt_tokens"] ?? inputUsageJSON?["input_tokens"])?.count
        let output = usageJSON?["completion_tokens"]?.count ?? outputTokens
        guard input != nil || output != nil else { return "no usage was reported before it" }
        return "usage reported before it: \(input ?? 0) input, \(output ?? 0) output tokens"
    }

    /// The usage reported so far, normalised as the finished answer's would be: what a stream that
    /// broke may have been billed (`ProviderError.usageBeforeFailure`). nil: none was reported.
    var partialUsage: NormalisedUsage? {
        switch format {
        case .chatCompletions:
            return usageJSON.map { json in
                var usage = ChatCompletions.usage(json)
                // OpenRouter's usage carries what it charged.
                usage.providerReportedCostUSD = json["cost"]?.amount
                return usage
            }
        case .anthropicMessages:
            return inputUsageJSON.map { AnthropicProvider.usage($0, outputTokens: outputTokens) }
        }
    }

    private func deliver(_ piece: String) {
        guard !piece.isEmpty else { return }
        text += piece
        sink.delta(piece)
    }

    private func parse(_ data: String) -> WireJSON? {
        guard let json = try? WireJSON.parse(Data(data.utf8)), json.object != nil else {
            malformed = "a stream event is not a JSON object"
            return nil
        }
        return json
    }

    // MARK: OpenAI chat-completion chunks

    private func chatCompletionEvent(_ event: ServerSentEventReader.Event) {
        if event.data == "[DONE]" {
            ended = true
            return
        }
        guard !ended else { malformed = "data after [DONE]"; return }
        guard let json = parse(event.data) else { return }
        if let error = json["error"], error.object != nil {
            errorJSON = json
            return
        }
        id = id ?? json["id"]?.string
        model = model ?? json["model"]?.string
        if let usage = json["usage"], usage.object != nil { usageJSON = usage }
        guard let choice = json["choices"]?[0] else { return }
        if let content = choice["delta"]?["content"]?.string { deliver(content) }
        if let refusal = choice["delta"]?["refusal"]?.string {
            deliver(refusal)
            finishReason = "refusal"
        }
        if let reason = choice["finish_reason"]?.string, finishReason != "refusal" { finishReason = reason }
    }

    // MARK: Anthropic Messages events

    private func anthropicEvent(_ event: ServerSentEventReader.Event) {
        guard !ended else { malformed = "an event after message_stop"; return }
        guard let json = parse(event.data) else { return }
        switch json["type"]?.string ?? event.name {
        case "message_start":
            id = json["message"]?["id"]?.string
            model = json["message"]?["model"]?.string
            inputUsageJSON = json["message"]?["usage"]
            outputTokens = inputUsageJSON?["output_tokens"]?.count
        case "content_block_delta":
            if json["delta"]?["type"]?.string == "text_delta", let piece = json["delta"]?["text"]?.string { deliver(piece) }
        case "message_delta":
            if let reason = json["delta"]?["stop_reason"]?.string { finishReason = reason }
            if let output = json["usage"]?["output_tokens"]?.count { outputTokens = output }
            // Later API versions repeat the input side here with the final counts.
            if let usage = json["usage"], usage["input_tokens"] != nil { inputUsageJSON = usage }
        case "message_stop":
            ended = true
        case "error":
            errorJSON = json
        default:
            // ping, content_block_start/stop, and event types added later.
            break
        }
    }
}

extension ProviderHTTP {
    /// Sends a streaming call whose 2xx body goes to `stream` as it arrives. Never retried once
    /// the provider has answered (`isIdempotent` false): a retry would deliver the text twice.
    /// An unusable stream (malformed, an error event, cut before its end) is a provider error.
    func sendStreaming(_ request: OutboundRequest, to stream: TextStream, secrets: [String]) async throws(ProviderError) -> OutboundResponse {
        var call = request
        call.isIdempotent = false
        call.bodySink = { bytes in stream.feed(bytes) }
        let response: OutboundResponse
        do {
            response = try await send(call, secrets: secrets)
        } catch {
            throw noting(stream, in: streamFailure(stream, secrets: secrets) ?? error)
        }
        guard stream.finishedCleanly() else {
            throw noting(stream, in: streamFailure(stream, secrets: secrets)
                ?? malformed("the stream ended before its end event (\(stream.text.count) characters received)",
                             response: response, secrets: secrets))
        }
        return response
    }

    /// The error with what the stream had delivered and reported when it failed; once text was
    /// delivered it is not retried (the reader would get a second answer after the first's start).
    private func noting(_ stream: TextStream, in error: ProviderError) -> ProviderError {
        guard stream.text.count > 0 || stream.usageSeen.hasPrefix("usage") else { return error }
        var noted = ProviderError(error.kind, provider: error.provider,
                                  message: error.message + " (after \(stream.text.count) characters of text; \(stream.usageSeen))",
                                  httpStatus: error.httpStatus, providerCode: error.providerCode, providerRequestID: error.providerRequestID,
                                  retryOverride: stream.text.isEmpty ? error.retryOverride : false, rateLimitHeaders: error.rateLimitHeaders)
        noted.usageBeforeFailure = stream.partialUsage
        return noted
    }

    private func streamFailure(_ stream: TextStream, secrets: [String]) -> ProviderError? {
        if let json = stream.errorJSON {
            let error = json["error"]
            // The error's type stands in for the status the provider would have answered with.
            let status: Int = switch error?["type"]?.string ?? error?["code"]?.string {
            case "overloaded_error": 529
            case "rate_limit_error", "rate_limit_exceeded": 429
            case "invalid_request_error": 400
            default: 500
            }
            let synthetic = OutboundResponse(status: status, headers: HTTPHeaders(), body: json.serialized(), bodyFile: nil,
                                             bodyByteCount: 0, url: "", newConnections: 0)
            let mapped = mapError(ErrorResponse(provider: provider, response: synthetic, retryAfter: nil, secrets: secrets))
            return ProviderError(mapped.kind, provider: provider, message: "in the stream: " + mapped.message, httpStatus: nil,
                                 providerCode: mapped.providerCode)
        }
        if let reason = stream.malformed { return malformed("malformed stream: \(reason)", secrets: secrets) }
        return nil
    }
}

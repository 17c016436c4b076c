import Domain
import Foundation

/// A finished chat generation in OpenAI's response shapes: one `chat.completion` object, or the
/// same answer as `chat.completion.chunk` server-sent events ending in `data: [DONE]`.
struct ChatCompletion: Sendable {
    let generationID: UUID
    let model: String
    let created: Int
    let content: String
    let finishReason: String
    let usage: ChatUsage
    /// The settled charge, an exact decimal string (the ledger's change).
    let costUSD: String

    /// `chatcmpl-` and the generation id, so a completion id leads back to its generation.
    var id: String { "chatcmpl-" + generationID.lowercasedString }

    init(generationID: UUID, model: String, created: Int, content: String, finishReason: String, usage: ChatUsage, costUSD: String) {
        self.generationID = generationID
        self.model = model
        self.created = created
        self.content = content
        self.finishReason = finishReason
        self.usage = usage
        self.costUSD = costUSD
    }

    /// From a succeeded generation: the usage is the billed one, read from its priced lines.
    init(_ record: GenerationRecord, requestedModel: String) {
        let lines = record.costBreakdown?.lines ?? []
        func tokens(_ units: Set<PriceUnit>) -> Int {
            lines.filter { $0.unit.map(units.contains) ?? false }.reduce(0) { $0 + NSDecimalNumber(decimal: $1.quantity).intValue }
        }
        let cached = tokens([.cachedInputTokenRead])
        let prompt = tokens([.inputToken, .cachedInputTokenWrite, .cachedInputTokenWrite1h, .cachedInputTokenWrite12h]) + cached
        let completion = tokens([.outputToken])
        self.init(generationID: record.id, model: record.model ?? requestedModel, created: Int(record.createdAt.timeIntervalSince1970),
                  content: record.outputText ?? "", finishReason: ChatFinishReason.openAI(record.finishReason),
                  usage: ChatUsage(promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion,
                                   promptTokensDetails: ChatUsage.PromptDetails(cachedTokens: cached), costUsd: nil),
                  costUSD: StoredJSONWriter.moneyText(record.actualCost ?? .zero))
    }

    /// The answer's headers: the generation and its settled cost.
    var headers: [(String, String)] {
        [("X-Generation-Id", generationID.lowercasedString), ("X-Cost-USD", costUSD)]
    }

    func jsonResponse() throws -> HTTPResponse {
        var response = try HTTPResponse.json(body())
        response.headers.append(contentsOf: headers)
        return response
    }

    func body() -> Body {
        Body(id: id, object: "chat.completion", created: created, model: model,
             choices: [Body.Choice(index: 0, message: Body.Message(role: "assistant", content: content), finishReason: finishReason)],
             usage: usage)
    }

    /// The stream: a first chunk with the role, the text in pieces, a chunk with the finish
    /// reason, then (with `include_usage`) a chunk with no choices carrying the usage and
    /// `cost_usd`, and `data: [DONE]`.
    func streamResponse(includeUsage: Bool) -> HTTPResponse {
        var events = Data()
        func send(_ chunk: Chunk) {
            events.append(Data("data: ".utf8))
            events.append((try? JSONCoding.encoder.encode(chunk)) ?? Data("{}".utf8))
            events.append(Data("\n\n".utf8))
        }
        func chunk(_ delta: Chunk.Delta?, finish: String? = nil, usage: ChatUsage? = nil) -> Chunk {
            Chunk(id: id, object: "chat.completion.chunk", created: created, model: model,
                  choices: delta.map { [Chunk.Choice(index: 0, delta: $0, finishReason: finish)] } ?? [], usage: usage)
        }
        send(chunk(Chunk.Delta(role: "assistant", content: "")))
        for piece in Self.pieces(of: content) { send(chunk(Chunk.Delta(role: nil, content: piece))) }
        send(chunk(Chunk.Delta(role: nil, content: nil), finish: finishReason))
        if includeUsage {
            var usage = self.usage
            usage.costUsd = costUSD
            send(chunk(nil, usage: usage))
        }
        events.append(Data("data: [DONE]\n\n".utf8))
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream"), ("X-Accel-Buffering", "no")] + headers,
                            body: events)
    }

    /// The text cut after each run of whitespace (words with their trailing space), as a model
    /// streams it: joined again they are the text exactly.
    static func pieces(of text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var inSpace = false
        for character in text {
            let space = character.isWhitespace
            if inSpace && !space {
                pieces.append(current)
                current = ""
            }
            current.append(character)
            inSpace = space
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    struct Body: Encodable {
        struct Message: Encodable {
            let role: String
            let content: String
        }

        struct Choice: Encodable {
            let index: Int
            let message: Message
            let finishReason: String
        }

        let id: String
        let object: String
        let created: Int
        let model: String
        let choices: [Choice]
        let usage: ChatUsage
    }

    struct Chunk: Encodable {
        struct Delta: Encodable {
            let role: String?
            let content: String?
        }

        struct Choice: Encodable {
            let index: Int
            let delta: Delta
            let finishReason: String?
        }

        let id: String
        let object: String
        let created: Int
        let model: String
        let choices: [Choice]
        let usage: ChatUsage?
    }
}

/// OpenAI's `usage`, plus `cost_usd` in the final chunk of a stream.
struct ChatUsage: Encodable, Sendable {
    struct PromptDetails: Encodable, Sendable {
        let cachedTokens: Int
    }

    let promptTokens: Int
    let completionTokens: Int
    let totalTokens: Int
    let promptTokensDetails: PromptDetails
    var costUsd: String?
}

import Domain
import Foundation
import Synchronization

/// One `stream: true` chat answer on an open `text/event-stream` response: the role chunk (queued
/// at once, sent with the headers when the first token arrives), a chunk per piece of text as the
/// provider sends it (through the `TextDeltaSink` the runner's streaming call feeds), and, once the
/// runner has settled the generation, the finish chunk, the usage chunk with the settled
/// `cost_usd` (with `include_usage`) and `data: [DONE]`.
///
/// A generation run by another process (a `worker` that took it over) feeds no sink here: its
/// text is then sent in pieces after the finish, as a finished answer is.
/// A failure after the stream has started ends it with one error chunk in OpenAI's envelope and
/// no `[DONE]`: OpenAI's SDKs raise `APIError` for a `data:` event carrying `error`.
final class ChatStream: Sendable {
    let stream = ResponseStream()
    /// Fired by the first piece of text (or the end): the response's headers may leave now. Until
    /// then the answer can still be a plain HTTP error (a provider that fails before its first token).
    let started = ResponseSignal()
    let generationID: UUID
    private let model: String
    private let created: Int
    private let includeUsage: Bool

    private struct State {
        var pieces = 0
        var finishReason: String?
        /// The answer's last chunk is written (or the client is gone): nothing more is sent.
        var ended = false
        /// Whoever ends the stream (the generation's end, or the client leaving) claimed it.
        var endClaimed = false
        var clientLeft = false
        /// The answer is the stream (its headers are on their way); decided once, with `plainFailure`.
        var committed = false
        var plainFailure: Problem?
    }

    private let state = Mutex(State())

    init(generationID: UUID, model: String, created: Int, includeUsage: Bool) {
        self.generationID = generationID
        self.model = model
        self.created = created
        self.includeUsage = includeUsage
        write(chunk(ChatCompletion.Chunk.Delta(role: "assistant", content: "")))
    }

    /// What the runner's streaming call feeds; it runs on the provider transfer's thread, so it
    /// only queues bytes. `clientGone` runs (once, elsewhere) when the client has left.
    func sink(clientGone: @escaping @Sendable () -> Void) -> TextDeltaSink {
        TextDeltaSink(delta: { [self] piece in
            let (open, first) = state.withLock { state -> (Bool, Bool) in
                state.pieces += 1
                return (!state.ended, state.pieces == 1)
            }
            if open && !write(chunk(ChatCompletion.Chunk.Delta(role: nil, content: piece))) { clientGone() }
            // Off the provider transfer's thread: the signal sends the response's headers.
            if first { DispatchQueue.global().async { [started] in started.signal() } }
        }, end: { [self] reason in
            state.withLock { $0.finishReason = reason }
        })
    }

    /// The response, once `started` fired (or its deadline passed): the stream, or the plain error
    /// recorded by `failBeforeStart` when that came first.
    func commit() -> Problem? {
        state.withLock { state in
            if let failure = state.plainFailure { return failure }
            state.committed = true
            return nil
        }
    }

    /// Records `problem` as the plain answer when the stream's headers are not committed yet.
    func failBeforeStart(_ problem: Problem) -> Bool {
        state.withLock { state in
            guard !state.committed else { return false }
            state.plainFailure = state.plainFailure ?? problem
            state.ended = true
            return true
        }
    }

    /// True for the first caller only: the one that writes the stream's end.
    func claimEnd() -> Bool {
        state.withLock { state in
            defer { state.endClaimed = true }
            return !state.endClaimed
        }
    }

    /// Whether the stream's end has been written (or claimed by its writer).
    var hasEnded: Bool { state.withLock { $0.endClaimed } }

    /// True the first time only: the client went away before the stream's end.
    func markClientLeft() -> Bool {
        state.withLock { state in
            guard !state.clientLeft, !state.endClaimed else { return false }
            state.clientLeft = true
            return true
        }
    }

    /// Ends the stream for a settled generation: its finish reason, usage and cost, `[DONE]`.
    func complete(_ completion: ChatCompletion) {
        let (streamed, reason) = state.withLock { state -> (Bool, String?) in
            defer { state.ended = true }
            return (state.pieces > 0 || state.ended, state.finishReason)
        }
        // `ended` before any piece: the client left; a generation without pieces ran elsewhere.
        if !streamed {
            for piece in ChatCompletion.pieces(of: completion.content) {
                write(chunk(ChatCompletion.Chunk.Delta(role: nil, content: piece)))
            }
        }
        write(chunk(ChatCompletion.Chunk.Delta(role: nil, content: nil), finish: ChatFinishReason.openAI(reason)))
        if includeUsage {
            var usage = completion.usage
            usage.costUsd = completion.costUSD
            write(ChatCompletion.Chunk(id: completionID, object: "chat.completion.chunk", created: created, model: model,
                                       choices: [], usage: usage))
        }
        stream.write(Array("data: [DONE]\n\n".utf8))
        stream.finish()
    }

    /// Ends the stream with an error chunk (no `[DONE]`).
    func fail(_ problem: Problem, requestID: String) {
        state.withLock { $0.ended = true }
        let envelope = ChatErrors.Envelope(error: ChatErrors.Envelope.Detail(message: problem.detail, type: ChatErrors.type(for: problem.status),
                                                                             param: nil, code: problem.code),
                                           requestId: requestID)
        let data = (try? JSONCoding.encoder.encode(envelope)) ?? Data("{}".utf8)
        stream.write(Array("data: ".utf8) + Array(data) + Array("\n\n".utf8))
        stream.finish()
    }

    var completionID: String { "chatcmpl-" + generationID.lowercasedString }

    private func chunk(_ delta: ChatCompletion.Chunk.Delta, finish: String? = nil) -> ChatCompletion.Chunk {
        ChatCompletion.Chunk(id: completionID, object: "chat.completion.chunk", created: created, model: model,
                             choices: [ChatCompletion.Chunk.Choice(index: 0, delta: delta, finishReason: finish)], usage: nil)
    }

    @discardableResult
    private func write(_ chunk: ChatCompletion.Chunk) -> Bool {
        let data = (try? JSONCoding.encoder.encode(chunk)) ?? Data("{}".utf8)
        return stream.write(Array("data: ".utf8) + Array(data) + Array("\n\n".utf8))
    }
}

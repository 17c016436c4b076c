import Domain
import Foundation

extension ChatHandlers {
    /// `stream: true` after admission: the SSE response once the provider's first token is here
    /// (`X-Generation-Id` in its headers; the cost arrives in the usage chunk, since it is known
    /// only at the end), fed token by token while this process runs the generation (`ChatStream`).
    /// A provider that fails before its first token gets a plain HTTP error, as without streaming.
    /// A client that leaves mid-stream cancels the generation: the provider's answer still in
    /// flight is read to its end and what it billed is charged (the engine's cancel-during-answer
    /// rule), nothing more is sent.
    func streamCompletion(_ record: GenerationRecord, _ chat: ChatRequest, _ identity: AuthenticatedIdentity,
                          _ request: HTTPRequest, key: String?) -> AwaitedResponse {
        let id = record.id
        let board = executor.board
        let streams = executor.runner.streams
        let requestID = request.requestID
        let chatStream = ChatStream(generationID: id, model: record.model ?? chat.modelID,
                                    created: Int(record.createdAt.timeIntervalSince1970), includeUsage: chat.includeUsage)
        let runner = executor.runner
        let clientGone: @Sendable () -> Void = {
            guard chatStream.markClientLeft() else { return }
            // Off the transfer's thread: the cancel writes to the database.
            DispatchQueue.global().async {
                if (try? runner.cancel(id, userID: identity.userID, claimsJSON: identity.claimsJSON)) != nil { board.signal(id) }
            }
        }
        // Registered before the generation can start, so its first piece already finds the sink.
        streams?.register(chatStream.sink(clientGone: clientGone), for: id)
        watch(chatStream, chat, identity, requestID: requestID, key: key)
        executor.start(id, userID: identity.userID, claimsJSON: identity.claimsJSON, admitted: record)
        // The same limit as a waiting answer: still running then, it is canceled (no charge unless the provider billed).
        let limit = Deadlines.shared.schedule(after: Double(Self.maximumWaitSeconds)) {
            guard !chatStream.hasEnded else { return }
            if (try? runner.cancel(id, userID: identity.userID, claimsJSON: identity.claimsJSON)) != nil { board.signal(id) }
        }
        // Still streaming when the server's shutdown grace is over: an error event (no `[DONE]`), so the
        // client does not take the cut answer for a whole one. The generation's charge follows its end.
        chatStream.stream.onServerStop { [executor, weak chatStream] in
            guard let chatStream, chatStream.claimEnd() else { return }
            executor.runner.streams?.remove(id)
            chatStream.fail(ChatErrors.stoppedMidStream(id), requestID: requestID)
        }
        // A closed stream's generation has ended or is canceled by clientGone: the limit has nothing left to do.
        chatStream.stream.onClose {
            Deadlines.shared.cancel(limit)
            clientGone()
        }
        return .later(chatStream.started, deadline: Double(Self.maximumWaitSeconds), respond: { [self] signalled in
            if !signalled {
                // No token by the deadline: a generation still running is canceled (504, or 422 when
                // its provider was answering: its bill is still to come); one that ended without
                // waking this process (a worker ran it) is answered as it ended.
                if let (canceled, _) = try? runner.cancel(id, userID: identity.userID, claimsJSON: identity.claimsJSON) {
                    _ = chatStream.failBeforeStart(ChatErrors.deadline(seconds: Self.maximumWaitSeconds, canceled: canceled))
                    board.signal(id)
                } else if let record = read(id, identity), record.status.isTerminal {
                    end(chatStream, record, chat, identity, requestID: requestID, key: key)
                }
            }
            if let failure = chatStream.commit() { return ChatErrors.response(failure, requestID: requestID) }
            return HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"),
                                                       ("X-Accel-Buffering", "no"), ("X-Generation-Id", id.lowercasedString)],
                                stream: chatStream.stream)
        })
    }

    /// Waits (no thread) for the generation's end, then writes the stream's end once.
    private func watch(_ chatStream: ChatStream, _ chat: ChatRequest, _ identity: AuthenticatedIdentity, requestID: String, key: String?) {
        let id = chatStream.generationID
        let board = executor.board
        let signal = board.wait(for: id)
        signal.onFire { [self] _ in
            board.forget(signal, for: id)
            let record = read(id, identity)
            if let record, !record.status.isTerminal {
                // Woken before the end (a signal for another reason): wait on.
                watch(chatStream, chat, identity, requestID: requestID, key: key)
                return
            }
            end(chatStream, record, chat, identity, requestID: requestID, key: key)
        }
    }

    /// Writes the stream's end (or records the plain error) for a generation that ended, once.
    private func end(_ chatStream: ChatStream, _ record: GenerationRecord?, _ chat: ChatRequest, _ identity: AuthenticatedIdentity,
                     requestID: String, key: String?) {
        let id = chatStream.generationID
        guard chatStream.claimEnd() else { return }
        executor.runner.streams?.remove(id)
        // A completion, or a failure charged anyway (the provider may have billed it).
        let charged = record?.keepsIdempotencyKey ?? false
        if let record, record.status == .succeeded {
            chatStream.complete(ChatCompletion(record, requestedModel: chat.modelID))
        } else {
            let problem = record.map(ChatErrors.generationFailed) ?? Problem.internalError()
            // Before the first token the answer is still a plain HTTP error; after it, an error event.
            if !chatStream.failBeforeStart(problem) { chatStream.fail(problem, requestID: requestID) }
        }
        chatStream.started.signal()
        if let key {
            // As for a waiting answer: an answer that was or may still be charged is remembered by its
            // generation (a client that left mid-stream and retries gets a replay, not a second charge);
            // a free failure gives the key up.
            try? store.finishIdempotencyKey(key, status: charged ? 200 : nil, body: charged ? id.lowercasedString : nil,
                                           claimsJSON: identity.claimsJSON)
            executor.board.signal(GenerationHandlers.idempotencyWaitKey(identity.userID, key))
        }
    }
}

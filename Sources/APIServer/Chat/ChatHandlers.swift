import Domain
import Persistence
import Providers
import Foundation

/// `POST /v1/chat/completions`: OpenAI's chat format on the generation engine. The request is
/// admitted like `POST /v1/generations` (routing, pricing, a budget reservation on the ledger) on
/// the HTTP thread, runs on the provider queue through `GenerationExecutor`, and is answered with
/// the connection suspended until the runner has priced the provider's answer. By default
/// (`CHAT_ANSWER_BEFORE_SETTLEMENT`) a completion is answered then, while the runner writes its
/// settlement with that cost (`EarlyChatAnswers`); otherwise, and for every other outcome, once
/// the settlement commits. Either way `X-Cost-USD` is what the ledger charges. An answer after a
/// charge is always 200; refusals and failures charge nothing.
struct ChatHandlers: Sendable {
    let admission: GenerationAdmission
    let executor: GenerationExecutor
    let store: any GenerationStore
    let authenticator: Authenticator
    let defaults: DefaultProjects
    /// A completion sent with `store: true` is kept as a text asset: not while its user keeps their storage quota's worth.
    let storage: StorageQuotaGate
    /// Whether a provider (any, when nil) offers this text model; a named provider that serves
    /// models it does not list (OpenRouter's `vendor/model`) offers those too, as for `/v1/generations`.
    let offers: @Sendable (_ model: String, _ provider: ProviderID?) -> Bool

    /// How long a request waits for its completion before the generation is canceled (504, no charge).
    static let maximumWaitSeconds = 600
    /// An Idempotency-Key whose request never answered is free again after this (past the wait).
    static let idempotencyStaleSeconds = 660
    static let maximumProjectHeaderCharacters = 64
    /// How often a duplicate waiting for its key's first request reads the key (see `create`).
    static let duplicateRecheckSeconds = 2.0

    func create(_ request: HTTPRequest) throws -> AwaitedResponse {
        // Without an Idempotency-Key (whose claim is written first), admission's first read checks
        // the live session in its own round trip; see `Authenticator.deferringSessionCheck`. An
        // admission need not wait for this user's settlements in flight (their reservations still
        // hold the budget); a key's replay reads its generation, so it waits.
        let keyed = request.header("idempotency-key") != nil
        let identity = try authenticator.identity(of: request, waitingForSettlements: keyed)
        guard !keyed else {
            try authenticator.requireLiveSession(identity)
            return try create(request, as: identity)
        }
        return try authenticator.deferringSessionCheck(identity) { deferred in try create(request, as: deferred) }
    }

    private func create(_ request: HTTPRequest, as identity: AuthenticatedIdentity) throws -> AwaitedResponse {
        let chat = try ChatRequest.decode(request)
        guard offers(chat.modelID, chat.provider) else { throw ChatErrors.modelNotFound(chat.model) }
        let project = try Self.projectHeader(request)
        guard let key = try GenerationHandlers.idempotencyKey(request) else {
            return begin(try admit(chat, project: project, identity), chat, identity, request, key: nil)
        }
        let hash = GenerationHandlers.requestHash(request)
        // Registered before the claim, so the first request finishing in between still wakes this one.
        let board = executor.board
        let waitKey = GenerationHandlers.idempotencyWaitKey(identity.userID, key)
        let signal = board.wait(for: waitKey)
        let claim: IdempotencyClaim
        do {
            claim = try store.claimIdempotencyKey(key, requestHash: hash, staleAfterSeconds: Self.idempotencyStaleSeconds,
                                                  claimsJSON: identity.claimsJSON)
        } catch {
            board.forget(signal, for: waitKey)
            throw error
        }
        if claim != .pending { board.forget(signal, for: waitKey) }
        switch claim {
        case .replay(let status, let body):
            // Not on this thread: a replay waits for the user's settlements and retries its read.
            let requestID = request.requestID
            return .elsewhere { [self] in replay(status: status, body: body, chat, identity, requestID: requestID) }
        case .mismatch:
            throw Problem(status: 422, code: "idempotency_key_reused", title: "Unprocessable Content",
                          detail: "This Idempotency-Key was used with a different request; use a new key for a new request.")
        case .pending:
            // The first request with this key is running: answer with its answer once it has one.
            // Its process wakes this wait when it answers; another process's answer (a retry that
            // reached another instance, or a first request whose process stopped) is found by
            // reading the key every few seconds.
            let watcher = RepeatingDeadline(every: Self.duplicateRecheckSeconds) { [store] in
                guard let now = try? store.readIdempotencyKey(key, requestHash: hash, staleAfterSeconds: Self.idempotencyStaleSeconds,
                                                               claimsJSON: identity.claimsJSON), now != .pending else { return }
                board.signal(waitKey)
            }
            return .later(signal, deadline: Double(Self.maximumWaitSeconds + 5), respond: { [self] _ in
                watcher.stop()
                board.forget(signal, for: waitKey)
                return duplicateAnswer(key: key, hash: hash, chat, identity, requestID: request.requestID)
            })
        case .claimed:
            let record: GenerationRecord
            do {
                record = try admit(chat, project: project, identity)
            } catch let problem as Problem where Self.isFinal(problem.status) {
                // A refusal is the answer to this request: a retry with the key gets it again.
                let body = String(decoding: ChatErrors.response(problem, requestID: request.requestID).body, as: UTF8.self)
                try? store.finishIdempotencyKey(key, status: problem.status, body: body, claimsJSON: identity.claimsJSON)
                board.signalSoon(waitKey)
                throw problem
            } catch {
                try? store.finishIdempotencyKey(key, status: nil, body: nil, claimsJSON: identity.claimsJSON)
                board.signalSoon(waitKey)
                throw error
            }
            return begin(record, chat, identity, request, key: key)
        }
    }

    /// Runs an admitted generation and answers: streamed (ChatHandlers+Stream.swift) or once it has ended.
    private func begin(_ record: GenerationRecord, _ chat: ChatRequest, _ identity: AuthenticatedIdentity,
                       _ request: HTTPRequest, key: String?) -> AwaitedResponse {
        guard chat.stream else { return awaitCompletion(record, chat, identity, request, key: key) }
        return streamCompletion(record, chat, identity, request, key: key)
    }

    /// Statuses a client may be given again on a retry with the same key (never one it would retry).
    static func isFinal(_ status: Int) -> Bool {
        (400..<500).contains(status) && ![408, 409, 429].contains(status)
    }

    /// `X-Project-Id`, when sent; its value is checked by the admission (404 when not the caller's).
    static func projectHeader(_ request: HTTPRequest) throws -> String? {
        guard let value = request.header("x-project-id") else { return nil }
        guard value.count <= maximumProjectHeaderCharacters, UUID(readingText: value) != nil else {
            throw DomainError.notFound(resource: "project")
        }
        return value
    }

    /// Admits on the named project, else on the default one. A remembered default project that
    /// fails the admission other than by refusal (deleted since) is looked up again, once.
    private func admit(_ chat: ChatRequest, project: String?, _ identity: AuthenticatedIdentity) throws -> GenerationRecord {
        if let project { return try admit(chat, projectID: project, identity) }
        // Finding (making) the default project writes: a deferred session check is made first.
        if identity.sessionCheckDeferred, !defaults.remembers(identity.userID) { try authenticator.requireLiveSession(identity) }
        let (id, remembered) = try defaults.project(for: identity)
        do {
            return try admit(chat, projectID: id.lowercasedString, identity)
        } catch let problem as Problem {
            throw problem
        } catch where remembered && !(error is AuthError) {
            defaults.forget(identity.userID)
            let (fresh, _) = try defaults.project(for: identity)
            guard fresh != id else { throw error }
            return try admit(chat, projectID: fresh.lowercasedString, identity)
        }
    }

    private func admit(_ chat: ChatRequest, projectID: String, _ identity: AuthenticatedIdentity) throws -> GenerationRecord {
        if chat.options.store == true { try storage.requireRoomForGeneration(identity, confirmingSessionWith: authenticator) }
        var settings = GenerationSettings(maxOutputTokens: chat.maxTokens)
        settings.parameters.chat = chat.options
        let quote = QuoteRequest(projectID: projectID, kind: .text, prompt: chat.options.transcript, provider: chat.provider,
                                 model: chat.modelID, maxOutputTokens: chat.maxTokens)
        let admit = { try admission.admit(quote, settings: settings, as: identity, startHere: true) }
        do {
            return try admit()
        } catch let refusal as AdmissionRefusal {
            // This admission did not wait for the user's settlements in flight, whose reservations
            // may hold more than they will charge: a budget refusal is decided again once they are
            // written, so a client sending its next request at once is not refused for room that
            // its previous completion's settlement is about to give back.
            guard case .budgetExceeded = refusal, let settlements = authenticator.settlements,
                  settlements.inFlight(for: identity.userID) else { throw GenerationHandlers.problem(refusal) }
            settlements.waitForSettlements(of: identity.userID)
            do {
                return try admit()
            } catch let again as AdmissionRefusal {
                throw GenerationHandlers.problem(again)
            }
        }
    }

    /// Starts the generation and answers once its runner has ended it (settled or released).
    private func awaitCompletion(_ record: GenerationRecord, _ chat: ChatRequest, _ identity: AuthenticatedIdentity,
                                 _ request: HTTPRequest, key: String?) -> AwaitedResponse {
        let board = executor.board
        // Registered before the work starts, so an instant finish still wakes this request.
        let signal = board.wait(for: record.id)
        // The runner's last call returns the finished generation: the answer is built from it, not read again.
        executor.finished.expect(record.id, beforeSettlement: true)
        executor.start(record.id, userID: identity.userID, claimsJSON: identity.claimsJSON, admitted: record)
        let requestID = request.requestID
        return .later(signal, deadline: Double(Self.maximumWaitSeconds), respond: { [self] _ in
            board.forget(signal, for: record.id)
            let (response, charged) = answer(record.id, chat, identity, requestID: requestID, cancelIfRunning: true,
                                             finished: executor.finished.take(record.id)?.generation)
            if let key {
                // A charged answer is remembered by its generation; a failure that charged nothing gives the key up for a retry.
                try? store.finishIdempotencyKey(key, status: charged ? 200 : nil, body: charged ? record.id.lowercasedString : nil,
                                               claimsJSON: identity.claimsJSON)
                // Not on this thread: it may be the runner's, answering before it writes the
                // settlement that the duplicates' replays wait for.
                let waitKey = GenerationHandlers.idempotencyWaitKey(identity.userID, key)
                DispatchQueue.global().async { board.signal(waitKey) }
            }
            return response
        })
    }

    /// The answer for a generation that ended (or, at the deadline, is canceled first). Returns
    /// whether anything was charged for it (a completion, or a failure the provider may have billed).
    private func answer(_ id: UUID, _ chat: ChatRequest, _ identity: AuthenticatedIdentity, requestID: String,
                        cancelIfRunning: Bool, finished: GenerationRecord? = nil) -> (HTTPResponse, Bool) {
        guard let record = finished ?? read(id, identity) else {
            return (ChatErrors.response(Problem.internalError(), requestID: requestID), false)
        }
        switch record.status {
        case .succeeded:
            let completion = ChatCompletion(record, requestedModel: chat.modelID)
            if chat.stream { return (completion.streamResponse(includeUsage: chat.includeUsage), true) }
            do {
                return (try completion.jsonResponse(), true)
            } catch {
                return (ChatErrors.response(Problem.internalError(), requestID: requestID), true)
            }
        case .failed, .canceled, .expired:
            // Charged anyway (the provider may have billed it): the key stays bound to it, so a retry
            // with the key replays this answer instead of being charged again.
            return (ChatErrors.response(ChatErrors.generationFailed(record), requestID: requestID), record.keepsIdempotencyKey)
        case .queued, .running:
            guard cancelIfRunning else { return (ChatErrors.response(ChatErrors.deadline(seconds: Self.maximumWaitSeconds), requestID: requestID), false) }
            do {
                let (canceled, _) = try executor.runner.cancel(id, userID: identity.userID, claimsJSON: identity.claimsJSON)
                executor.board.signal(id)
                return (ChatErrors.response(ChatErrors.deadline(seconds: Self.maximumWaitSeconds, canceled: canceled), requestID: requestID),
                        canceled.keepsIdempotencyKey)
            } catch {
                // It ended meanwhile (or the cancel failed): answer with what it is now.
                return answer(id, chat, identity, requestID: requestID, cancelIfRunning: false)
            }
        }
    }

    /// The generation, read again a few times if the database hiccups: after a charge the client
    /// must get its completion, not a 5xx it would retry.
    func read(_ id: UUID, _ identity: AuthenticatedIdentity) -> GenerationRecord? {
        for attempt in 0..<3 {
            if let record = try? store.get(id, claimsJSON: identity.claimsJSON) { return record }
            Thread.sleep(forTimeInterval: 0.1 * Double(attempt + 1))
        }
        return nil
    }

    /// A stored answer given again: a completion is rebuilt from its generation (in the format
    /// this request asks for), a refusal is repeated as it was.
    private func replay(status: Int, body: String, _ chat: ChatRequest, _ identity: AuthenticatedIdentity, requestID: String) -> HTTPResponse {
        var response: HTTPResponse
        if status == 200, let id = UUID(uuidString: body) {
            // The first answer may have left before its settlement: read the generation once it is written.
            authenticator.waitForSettlements(of: identity)
            response = answer(id, chat, identity, requestID: requestID, cancelIfRunning: false).0
        } else {
            response = HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Data(body.utf8))
        }
        response.headers.append(("Idempotent-Replayed", "true"))
        return response
    }

    /// A duplicate's answer once the first request with its key has answered (or gave the key up).
    private func duplicateAnswer(key: String, hash: String, _ chat: ChatRequest, _ identity: AuthenticatedIdentity,
                                 requestID: String) -> HTTPResponse {
        do {
            let claim = try store.readIdempotencyKey(key, requestHash: hash, staleAfterSeconds: Self.idempotencyStaleSeconds,
                                                     claimsJSON: identity.claimsJSON)
            switch claim {
            case .replay(let status, let body):
                return replay(status: status, body: body, chat, identity, requestID: requestID)
            case .claimed:
                // The first request failed (nothing charged) and gave the key up: free for the client's retry.
                return ChatErrors.response(Self.inProgress(), requestID: requestID)
            case .pending:
                return ChatErrors.response(Self.inProgress(), requestID: requestID)
            case .mismatch:
                return ChatErrors.response(Problem(status: 422, code: "idempotency_key_reused", title: "Unprocessable Content",
                                                   detail: "This Idempotency-Key was used with a different request."), requestID: requestID)
            }
        } catch {
            return ChatErrors.response(Problem.databaseUnavailable(), requestID: requestID)
        }
    }

    /// The first request with this key has not answered yet, or failed without a charge and gave the key up: retry.
    static func inProgress() -> Problem {
        Problem(status: 409, code: "idempotency_in_progress", title: "Conflict",
                detail: "The first request with this Idempotency-Key has no answer to give again (it is still running, or it failed "
                    + "without a charge); retry with the same key.",
                headers: [("Retry-After", "1")])
    }
}

extension ChatHandlers {
    /// Built on the engine's parts (the same admission, executor and store as `/v1/generations`).
    static func live(_ environment: ServerEnvironment) -> ChatHandlers {
        let providers = environment.providers
        return ChatHandlers(
            admission: environment.generations.admission, executor: environment.generations.executor,
            store: environment.generations.store, authenticator: environment.authenticator,
            defaults: DefaultProjects(store: PostgresDefaultProjects(pool: environment.pool)),
            storage: environment.assets.storage,
            offers: { model, provider in
                providers.catalog().contains { (provider == nil || $0.provider == provider) && $0.model(model, kind: .text) != nil }
                    || provider.map { providers.capability(of: $0, for: model, kind: .text) != nil } == true
            })
    }
}

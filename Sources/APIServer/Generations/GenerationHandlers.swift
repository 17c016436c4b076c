import Crypto
import Domain
import Foundation

/// `/v1/generations`: decode, one use case, encode. Admission runs
/// on the HTTP thread (database work only); the generation itself runs on the provider queue.
struct GenerationHandlers: Sendable {
    let admission: GenerationAdmission
    let executor: GenerationExecutor
    let store: any GenerationStore
    let batches: any GenerationBatchStore
    let blobs: any BlobStore
    let authenticator: Authenticator
    let eventTokens: EventStreamTokens
    let storage: StorageQuotaGate

    /// `Prefer: wait=N` waits at most this long.
    static let maximumWaitSeconds = 60
    /// An Idempotency-Key claimed by a request that never answered is free again after this.
    static let idempotencyStaleSeconds = 60
    /// How long a duplicate waits for the first request with its key before 409.
    static let duplicateWaitSeconds: Double = 5

    func create(_ request: HTTPRequest) throws -> AwaitedResponse {
        // The live session is checked by admission's first read, in its round trip; a request that
        // fails before it, or has an Idempotency-Key (whose claim is written first), is checked here.
        let identity = try authenticator.identity(of: request)
        let (quoteRequest, settings, wait, key) = try authenticator.deferringSessionCheck(identity) { _ in
            let (quoteRequest, settings) = try Self.decode(request)
            // Quotes (which decode the same body) still price it.
            if quoteRequest.kind == .imageToVideo { throw DomainError.validation([Self.imageToVideoRefusal(field: "type")]) }
            return (quoteRequest, settings, try Self.waitSeconds(request), try Self.idempotencyKey(request))
        }
        guard let key else {
            try requireStorageRoom(identity)
            let record = try authenticator.deferringSessionCheck(identity) { deferred in try admit(quoteRequest, settings, deferred) }
            return try respond(record, wait: wait, identity: identity, request: request)
        }
        try authenticator.requireLiveSession(identity)
        let hash = Self.requestHash(request)
        let claimed = try store.claimIdempotencyKey(key, requestHash: hash, staleAfterSeconds: Self.idempotencyStaleSeconds,
                                                    claimsJSON: identity.claimsJSON)
        switch claimed {
        case .replay(202, let body):
            // The stored answer is the 202 of the admission; a retry that asks to wait is answered as
            // the first request was, with the generation as it stands once it ends or the wait is up.
            if let wait, wait > 0, let id = Self.storedGenerationID(body) {
                return try replayAwaited(id, wait: wait, identity: identity, request: request)
            }
            return .now(try Self.answer(claimed))
        case .replay, .mismatch:
            return .now(try Self.answer(claimed))
        case .pending:
            // The first request with this key is being admitted (milliseconds): wait for its
            // answer with the connection suspended, woken when it is stored here, or at the deadline.
            let board = executor.board
            let waitKey = Self.idempotencyWaitKey(identity.userID, key)
            let signal = board.wait(for: waitKey)
            let store = self.store
            let requestID = request.requestID
            return .later(signal, deadline: Self.duplicateWaitSeconds, respond: { _ in
                board.forget(signal, for: waitKey)
                do {
                    // The first request may have failed and given the key up: it stays free, so the
                    // client's retry runs the request.
                    let now = try store.readIdempotencyKey(key, requestHash: hash, staleAfterSeconds: Self.idempotencyStaleSeconds,
                                                           claimsJSON: identity.claimsJSON)
                    return try Self.answer(now)
                } catch let problem as Problem {
                    return problem.response(requestID: requestID)
                } catch {
                    return Problem.internalError().response(requestID: requestID)
                }
            })
        case .claimed:
            let first: HTTPResponse
            let record: GenerationRecord
            do {
                try requireStorageRoom(identity)
                record = try admit(quoteRequest, settings, identity)
            } catch let error as AdmissionRefusal {
                let problem = Self.problem(error)
                // A refusal that passes (429) gives the key up: the retry it asks for must run.
                let final = problem.status != 429
                try? store.finishIdempotencyKey(key, status: final ? problem.status : nil,
                                               body: final ? Self.bodyText(problem.response(requestID: request.requestID)) : nil,
                                               claimsJSON: identity.claimsJSON)
                executor.board.signalSoon(Self.idempotencyWaitKey(identity.userID, key))
                throw problem
            } catch {
                try? store.finishIdempotencyKey(key, status: nil, body: nil, claimsJSON: identity.claimsJSON)
                executor.board.signalSoon(Self.idempotencyWaitKey(identity.userID, key))
                throw error
            }
            do {
                first = try Self.accepted(record, eventsURL: eventTokens.eventsURL(for: record))
                try store.finishIdempotencyKey(key, status: first.status, body: Self.bodyText(first), claimsJSON: identity.claimsJSON)
            } catch {
                // Admitted to run here: it runs even though this answer failed (the key, unanswered,
                // frees itself once stale), rather than waiting for its lease to lapse.
                executor.start(record.id, userID: identity.userID, claimsJSON: identity.claimsJSON, admitted: record)
                executor.board.signalSoon(Self.idempotencyWaitKey(identity.userID, key))
                throw error
            }
            executor.board.signalSoon(Self.idempotencyWaitKey(identity.userID, key))
            return try respond(record, wait: wait, identity: identity, request: request, accepted: first)
        }
    }

    /// A stored answer replayed, or the refusal of a reused or still-pending key.
    static func answer(_ claim: IdempotencyClaim, collection: String = "/v1/generations") throws -> HTTPResponse {
        switch claim {
        case .replay(let status, let body):
            var headers = [("Content-Type", status < 300 ? "application/json" : "application/problem+json"), ("Idempotent-Replayed", "true")]
            // The first answer named its generation in `Location`; the replay names the same one.
            if status < 300, let id = storedGenerationID(body) {
                headers.append(("Location", "\(collection)/\(id.lowercasedString)"))
            }
            return HTTPResponse(status: status, headers: headers, body: Data(body.utf8))
        case .mismatch:
            throw Problem(status: 422, code: "idempotency_key_reused", title: "Unprocessable Content",
                          detail: "This Idempotency-Key was used with a different request; use a new key for a new request.")
        case .pending, .claimed:
            throw Problem(status: 409, code: "idempotency_in_progress", title: "Conflict",
                          detail: "A request with this Idempotency-Key is still being answered; retry shortly.",
                          headers: [("Retry-After", "1")])
        }
    }

    /// The answer to `Prefer: wait`: the generation as it stands, 200 once ended, else 202.
    private static func waited(_ detail: GenerationDetail, wait: Int, tokens: EventStreamTokens) throws -> HTTPResponse {
        var response = try HTTPResponse.json(GenerationBody(detail, eventsURL: tokens.eventsURL(for: detail.generation)),
                                             status: detail.generation.status.isTerminal ? 200 : 202)
        response.headers.append(("Location", "/v1/generations/\(detail.generation.id.lowercasedString)"))
        response.headers.append(("Preference-Applied", "wait=\(wait)"))
        return response
    }

    /// The `id` of a stored answer's JSON body.
    static func storedGenerationID(_ body: String) -> UUID? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return nil }
        return (object["id"] as? String).flatMap(UUID.init(uuidString:))
    }

    /// A replayed admission under `Prefer: wait`: the generation now if it has ended, else once it
    /// ends here (or at the deadline, as it then stands). Marked replayed, as any replay.
    private func replayAwaited(_ id: UUID, wait: Int, identity: AuthenticatedIdentity, request: HTTPRequest) throws -> AwaitedResponse {
        let board = executor.board
        let signal = board.wait(for: id)
        let store = self.store
        let tokens = eventTokens
        let requestID = request.requestID
        let current = { @Sendable () throws -> HTTPResponse in
            guard let detail = try store.detail(id, claimsJSON: identity.claimsJSON) else { throw DomainError.notFound(resource: "generation") }
            var response = try Self.waited(detail, wait: wait, tokens: tokens)
            response.headers.append(("Idempotent-Replayed", "true"))
            return response
        }
        let now: HTTPResponse
        do {
            now = try current()
        } catch {
            board.forget(signal, for: id)
            throw error
        }
        if now.status == 200 {
            board.forget(signal, for: id)
            return .now(now)
        }
        return .later(signal, deadline: Double(wait), respond: { _ in
            board.forget(signal, for: id)
            do {
                return try current()
            } catch let problem as Problem {
                return problem.response(requestID: requestID)
            } catch {
                return Problem.internalError().response(requestID: requestID)
            }
        })
    }

    /// Where a duplicate waits for the first request with its key: keyed by user and key, in the
    /// same board as generations (the key's text cannot collide with a UUID's).
    static func idempotencyWaitKey(_ userID: UUID, _ key: String) -> UUID {
        let digest = (try? SHA256.hash(Data("idempotency \(userID.uuidString) \(key)".utf8))) ?? []
        var bytes = Array(digest.prefix(16))
        while bytes.count < 16 { bytes.append(0) }
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// A generation's outputs become assets: none is admitted while its user keeps their storage quota's worth.
    private func requireStorageRoom(_ identity: AuthenticatedIdentity) throws {
        try storage.requireRoomForGeneration(identity, confirmingSessionWith: authenticator)
    }

    private func admit(_ request: QuoteRequest, _ settings: GenerationSettings, _ identity: AuthenticatedIdentity) throws -> GenerationRecord {
        do {
            // This process runs it at once (`respond` hands the record to the executor).
            return try admission.admit(request, settings: settings, as: identity, startHere: true)
        } catch let refusal as AdmissionRefusal {
            throw Self.problem(refusal)
        }
    }

    /// Starts the admitted generation and answers: 202 at once, or with `Prefer: wait` once it
    /// ends (200) or the wait is over (202 with its state then).
    private func respond(_ record: GenerationRecord, wait: Int?, identity: AuthenticatedIdentity, request: HTTPRequest,
                         accepted: HTTPResponse? = nil) throws -> AwaitedResponse {
        let first: HTTPResponse
        do {
            first = try accepted ?? Self.accepted(record, eventsURL: eventTokens.eventsURL(for: record))
        } catch {
            executor.start(record.id, userID: identity.userID, claimsJSON: identity.claimsJSON, admitted: record)
            throw error
        }
        guard let wait, wait > 0 else {
            executor.start(record.id, userID: identity.userID, claimsJSON: identity.claimsJSON, admitted: record)
            return .now(first)
        }
        // Registered before the work starts, so an instant finish still wakes this request.
        let signal = executor.board.wait(for: record.id)
        let finished = executor.finished
        finished.expect(record.id)
        executor.start(record.id, userID: identity.userID, claimsJSON: identity.claimsJSON, admitted: record)
        let store = self.store
        let board = executor.board
        let tokens = eventTokens
        let requestID = request.requestID
        return .later(signal, deadline: Double(wait), respond: { _ in
            board.forget(signal, for: record.id)
            do {
                // The runner's last call returned the finished generation; read it only when it has not finished.
                guard let detail = try finished.take(record.id) ?? store.detail(record.id, claimsJSON: identity.claimsJSON) else { return first }
                return try Self.waited(detail, wait: wait, tokens: tokens)
            } catch {
                return Problem.internalError().response(requestID: requestID)
            }
        })
    }

    func get(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        guard let id = request.pathParameters["id"].flatMap(UUID.init(uuidString:)),
              let detail = try store.detail(id, claimsJSON: identity.claimsJSON)
        else { throw DomainError.notFound(resource: "generation") }
        return try .json(GenerationBody(detail, eventsURL: eventTokens.eventsURL(for: detail.generation)))
    }

    func list(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let filter = try Self.filter(request.query)
        let page = try store.list(filter, claimsJSON: identity.claimsJSON)
        return .json(bytes: try ListedPageJSON.generations.body(of: page))
    }

    func cancel(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.liveIdentity(of: request)
        guard let id = request.pathParameters["id"].flatMap(UUID.init(uuidString:)) else { throw DomainError.notFound(resource: "generation") }
        // A batch item's money is its batch's reservation, which this runner does not hold.
        if let batch = try batches.batchID(containing: id, claimsJSON: identity.claimsJSON) {
            throw DomainError.conflict(code: "batch_item", detail: "This generation is an item of batch \(batch.lowercasedString); "
                + "cancel the batch (POST /v1/generations/batch/\(batch.lowercasedString)/cancel) to stop its remaining items.")
        }
        let (record, providerCancel) = try executor.runner.cancel(id, userID: identity.userID, claimsJSON: identity.claimsJSON)
        // Stopping the task at the provider is an outbound call: a task on the provider queue
        // (holding no thread while in flight).
        if let providerCancel { executor.stopAtProvider(providerCancel, generation: id, userID: identity.userID) }
        executor.board.signalSoon(id)
        executor.events?.notify(user: identity.userID)
        guard let detail = try store.detail(record.id, claimsJSON: identity.claimsJSON) else { return try .json(GenerationBody(record)) }
        return try .json(GenerationBody(detail))
    }
}

import Crypto
import Domain
import Foundation

/// `/v1/generations` and `/v1/assets/{id}/content`: decode, one use case, encode. Admission runs
/// on the HTTP thread (database work only); the generation itself runs on the provider queue.
struct GenerationHandlers: Sendable {
    let admission: GenerationAdmission
    let executor: GenerationExecutor
    let store: any GenerationStore
    let blobs: any BlobStore
    let authenticator: Authenticator

    /// `Prefer: wait=N` waits at most this long.
    static let maximumWaitSeconds = 60
    /// An Idempotency-Key claimed by a request that never answered is free again after this.
    static let idempotencyStaleSeconds = 60
    /// How long a duplicate waits for the first request with its key before 409.
    static let duplicateWaitSeconds: Double = 5

    private struct Body: Decodable {
        struct Parameters: Decodable {
            let maxOutputTokens: Int?
            let size: String?
            let quality: String?
            let n: Int?
            let durationSeconds: Int?
            let resolution: String?
            let audio: Bool?
        }

        let projectId: String?
        let type: String?
        let prompt: String?
        let provider: String?
        let model: String?
        let parameters: Parameters?
        let maxCostUsd: String?
    }

    func create(_ request: HTTPRequest) throws -> AwaitedResponse {
        let identity = try authenticator.liveIdentity(of: request)
        let (quoteRequest, settings) = try Self.decode(request)
        let wait = try Self.waitSeconds(request)
        guard let key = try Self.idempotencyKey(request) else {
            return try respond(admit(quoteRequest, settings, identity), wait: wait, identity: identity, request: request)
        }
        let hash = Self.requestHash(request)
        let claimed = try store.claimIdempotencyKey(key, requestHash: hash, staleAfterSeconds: Self.idempotencyStaleSeconds,
                                                    claimsJSON: identity.claimsJSON)
        switch claimed {
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
                    let now = try store.claimIdempotencyKey(key, requestHash: hash, staleAfterSeconds: Self.idempotencyStaleSeconds,
                                                            claimsJSON: identity.claimsJSON)
                    // The first request failed and gave the key up, and this wait just took it:
                    // give it back, so the client's retry runs the request.
                    if now == .claimed { try? store.finishIdempotencyKey(key, status: nil, body: nil, claimsJSON: identity.claimsJSON) }
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
                record = try admit(quoteRequest, settings, identity)
                first = try Self.accepted(record)
            } catch let error as AdmissionRefusal {
                let problem = Self.problem(error)
                try? store.finishIdempotencyKey(key, status: problem.status, body: Self.bodyText(problem.response(requestID: request.requestID)),
                                               claimsJSON: identity.claimsJSON)
                executor.board.signal(Self.idempotencyWaitKey(identity.userID, key))
                throw problem
            } catch {
                try? store.finishIdempotencyKey(key, status: nil, body: nil, claimsJSON: identity.claimsJSON)
                executor.board.signal(Self.idempotencyWaitKey(identity.userID, key))
                throw error
            }
            try store.finishIdempotencyKey(key, status: first.status, body: Self.bodyText(first), claimsJSON: identity.claimsJSON)
            executor.board.signal(Self.idempotencyWaitKey(identity.userID, key))
            return try respond(record, wait: wait, identity: identity, request: request, accepted: first)
        }
    }

    /// A stored answer replayed, or the refusal of a reused or still-pending key.
    private static func answer(_ claim: IdempotencyClaim) throws -> HTTPResponse {
        switch claim {
        case .replay(let status, let body):
            return HTTPResponse(status: status, headers: [("Content-Type", status < 300 ? "application/json" : "application/problem+json"),
                                                          ("Idempotent-Replayed", "true")], body: Data(body.utf8))
        case .mismatch:
            throw Problem(status: 422, code: "idempotency_key_reused", title: "Unprocessable Content",
                          detail: "This Idempotency-Key was used with a different request; use a new key for a new request.")
        case .pending, .claimed:
            throw Problem(status: 409, code: "idempotency_in_progress", title: "Conflict",
                          detail: "A request with this Idempotency-Key is still being answered; retry shortly.",
                          headers: [("Retry-After", "1")])
        }
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

    private func admit(_ request: QuoteRequest, _ settings: GenerationSettings, _ identity: AuthenticatedIdentity) throws -> GenerationRecord {
        do {
            return try admission.admit(request, settings: settings, as: identity)
        } catch let refusal as AdmissionRefusal {
            throw Self.problem(refusal)
        }
    }

    /// Starts the admitted generation and answers: 202 at once, or with `Prefer: wait` once it
    /// ends (200) or the wait is over (202 with its state then).
    private func respond(_ record: GenerationRecord, wait: Int?, identity: AuthenticatedIdentity, request: HTTPRequest,
                         accepted: HTTPResponse? = nil) throws -> AwaitedResponse {
        let first = try accepted ?? Self.accepted(record)
        guard let wait, wait > 0 else {
            executor.start(record.id, userID: identity.userID, claimsJSON: identity.claimsJSON)
            return .now(first)
        }
        // Registered before the work starts, so an instant finish still wakes this request.
        let signal = executor.board.wait(for: record.id)
        executor.start(record.id, userID: identity.userID, claimsJSON: identity.claimsJSON)
        let store = self.store
        let board = executor.board
        let requestID = request.requestID
        return .later(signal, deadline: Double(wait), respond: { _ in
            board.forget(signal, for: record.id)
            do {
                guard let detail = try store.detail(record.id, claimsJSON: identity.claimsJSON) else { return first }
                var response = try HTTPResponse.json(GenerationBody(detail), status: detail.generation.status.isTerminal ? 200 : 202)
                response.headers.append(("Location", "/v1/generations/\(record.id.uuidString.lowercased())"))
                response.headers.append(("Preference-Applied", "wait=\(wait)"))
                return response
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
        return try .json(GenerationBody(detail))
    }

    func list(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let filter = try Self.filter(request.query)
        let page = try store.list(filter, claimsJSON: identity.claimsJSON)
        return try .json(GenerationPageBody(data: page.items.map { GenerationBody($0) }, nextCursor: page.next?.token))
    }

    func cancel(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.liveIdentity(of: request)
        guard let id = request.pathParameters["id"].flatMap(UUID.init(uuidString:)) else { throw DomainError.notFound(resource: "generation") }
        let (record, providerCancel) = try executor.runner.cancel(id, userID: identity.userID, claimsJSON: identity.claimsJSON)
        // Stopping the task at the provider is an outbound call: on the provider queue, best effort.
        if let providerCancel, let slot = executor.queue.reserve() { slot.run(providerCancel) }
        executor.board.signal(id)
        guard let detail = try store.detail(record.id, claimsJSON: identity.claimsJSON) else { return try .json(GenerationBody(record)) }
        return try .json(GenerationBody(detail))
    }

    func assetContent(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        guard let id = request.pathParameters["id"].flatMap(UUID.init(uuidString:)),
              let asset = try store.asset(id, claimsJSON: identity.claimsJSON),
              let bytes = try blobs.read(asset.storageKey)
        else { throw DomainError.notFound(resource: "asset") }
        return HTTPResponse(status: 200, headers: [("Content-Type", asset.contentType), ("ETag", "\"\(asset.sha256)\""),
                                                   ("Cache-Control", "private, max-age=3600")], body: bytes)
    }

    // MARK: - Decoding

    private static func decode(_ request: HTTPRequest) throws -> (QuoteRequest, GenerationSettings) {
        let body = try request.decodeBody(Body.self)
        var errors: [FieldError] = []
        let kind = body.type.flatMap(MediaKind.init(rawValue:))
        if kind == nil {
            errors.append(FieldError(field: "type", code: "invalid",
                                     message: "type must be one of \(MediaKind.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        if body.projectId == nil { errors.append(FieldError(field: "project_id", code: "required", message: "project_id is required")) }
        if body.prompt == nil { errors.append(FieldError(field: "prompt", code: "required", message: "prompt is required")) }
        let provider = body.provider.flatMap(ProviderID.init(rawValue:))
        if body.provider != nil, provider == nil {
            errors.append(FieldError(field: "provider", code: "invalid",
                                     message: "provider must be one of \(ProviderID.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        var maxCost: Money?
        if let text = body.maxCostUsd {
            do { maxCost = try Money(parsing: text) } catch { errors.append(error.fieldError("max_cost_usd")) }
        }
        guard errors.isEmpty, let kind, let projectID = body.projectId, let prompt = body.prompt else {
            throw DomainError.validation(errors)
        }
        let parameters = body.parameters
        let settings = GenerationSettings(maxOutputTokens: parameters?.maxOutputTokens, size: parameters?.size, quality: parameters?.quality,
                                          n: parameters?.n, durationSeconds: parameters?.durationSeconds, resolution: parameters?.resolution,
                                          audio: parameters?.audio)
        let quote = QuoteRequest(
            projectID: projectID, kind: kind, prompt: prompt, provider: provider, model: body.model,
            maxOutputTokens: settings.maxOutputTokens, size: settings.size, quality: settings.quality, count: settings.n,
            durationSeconds: settings.durationSeconds.map { Decimal($0) }, resolution: settings.resolution, audio: settings.audio,
            maxCost: maxCost)
        return (quote, settings)
    }

    /// `Prefer: wait=N` (RFC 7240): N seconds, at most `maximumWaitSeconds`; other preferences ignored.
    static func waitSeconds(_ request: HTTPRequest) throws -> Int? {
        guard let header = request.header("prefer") else { return nil }
        for preference in header.split(separator: ",") {
            let parts = preference.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.first?.lowercased() == "wait" else { continue }
            guard parts.count == 2, parts[1].count <= 6, let seconds = Int(parts[1]), seconds >= 0 else {
                throw Problem(status: 400, code: "invalid_prefer", title: "Bad Request",
                              detail: "Prefer: wait takes a whole number of seconds, at most \(maximumWaitSeconds).")
            }
            return min(seconds, maximumWaitSeconds)
        }
        return nil
    }

    static func idempotencyKey(_ request: HTTPRequest) throws -> String? {
        guard let key = request.header("idempotency-key") else { return nil }
        guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7E }) else {
            throw Problem(status: 400, code: "invalid_idempotency_key", title: "Bad Request",
                          detail: "Idempotency-Key must be 1 to 255 visible ASCII characters.")
        }
        return key
    }

    /// The request as the key remembers it: method, path and the body as canonical JSON (members
    /// sorted, whitespace dropped), so the same body sent with its members in another order is
    /// the same request. The body has already been decoded strictly, so it parses.
    static func requestHash(_ request: HTTPRequest) -> String {
        var material = Data("\(request.method) \(request.path)\n".utf8)
        if let object = try? JSONSerialization.jsonObject(with: request.body, options: [.fragmentsAllowed]),
           let canonical = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed]) {
            material.append(canonical)
        } else {
            material.append(request.body)
        }
        let digest = (try? SHA256.hash(material)) ?? Array(material.prefix(32))
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    static func accepted(_ record: GenerationRecord) throws -> HTTPResponse {
        var response = try HTTPResponse.json(GenerationBody(record), status: 202)
        response.headers.append(("Location", "/v1/generations/\(record.id.uuidString.lowercased())"))
        return response
    }

    static func bodyText(_ response: HTTPResponse) -> String {
        String(decoding: response.body, as: UTF8.self)
    }

    static func problem(_ refusal: AdmissionRefusal) -> Problem {
        switch refusal {
        case let .budgetExceeded(scope, limit, spent, reserved, needed, shortfall):
            var problem = Problem(status: 402, code: "budget_exceeded", title: "Payment Required",
                                  detail: "The \(scope) budget of \(limit.jsonString) USD has \(spent.jsonString) spent and "
                                      + "\(reserved.jsonString) reserved; this generation needs \(needed.jsonString), "
                                      + "\(shortfall.jsonString) more than is left.")
            problem.budget = ProblemBudget(scope: scope, limit: limit.jsonString, spent: spent.jsonString, reserved: reserved.jsonString,
                                           required: needed.jsonString, shortfall: shortfall.jsonString)
            return problem
        case let .noCandidate(unpriced, skipped):
            let reasons = skipped.map { "\($0.provider.rawValue)/\($0.model): \($0.reasons.joined(separator: ", "))" }
            let errors = skipped.map { FieldError(field: "provider", code: $0.reasons.first ?? "skipped",
                                                  message: "\($0.provider.rawValue)/\($0.model): \($0.reasons.joined(separator: ", "))") }
            if unpriced {
                return Problem(status: 422, code: "unpriced", title: "Unprocessable Content",
                               detail: "No price is known for this request, so it cannot be reserved: " + reasons.joined(separator: "; "),
                               errors: errors)
            }
            return Problem(status: 422, code: "no_admissible_provider", title: "Unprocessable Content",
                           detail: "No provider can take this request: " + reasons.joined(separator: "; "), errors: errors)
        }
    }

    static func filter(_ query: [String: String]) throws -> GenerationFilter {
        var filter = GenerationFilter()
        var errors: [FieldError] = []
        if let value = query["project_id"] {
            if let id = UUID(uuidString: value) { filter.projectID = id } else {
                errors.append(FieldError(field: "project_id", code: "invalid", message: "project_id must be a UUID"))
            }
        }
        if let value = query["status"] {
            if let status = GenerationStatus(rawValue: value) { filter.status = status } else {
                errors.append(FieldError(field: "status", code: "invalid", message: "status must be one of "
                                         + GenerationStatus.allCases.map(\.rawValue).joined(separator: ", ")))
            }
        }
        if let value = query["type"] {
            if let kind = MediaKind(rawValue: value) { filter.kind = kind } else {
                errors.append(FieldError(field: "type", code: "invalid", message: "type must be one of "
                                         + MediaKind.allCases.map(\.rawValue).joined(separator: ", ")))
            }
        }
        if let value = query["provider"] {
            if let provider = ProviderID(rawValue: value) { filter.provider = provider } else {
                errors.append(FieldError(field: "provider", code: "invalid", message: "provider must be one of "
                                         + ProviderID.allCases.map(\.rawValue).joined(separator: ", ")))
            }
        }
        func date(_ name: String) -> Date? {
            guard let value = query[name] else { return nil }
            if value.count <= 40, let date = ISO8601DateFormatter().date(from: value) { return date }
            errors.append(FieldError(field: name, code: "invalid", message: "\(name) must be an RFC 3339 time such as 2026-01-31T12:00:00Z"))
            return nil
        }
        filter.createdAfter = date("created_after")
        filter.createdBefore = date("created_before")
        if let value = query["limit"] {
            if let limit = Int(value), (1...100).contains(limit) { filter.limit = limit } else {
                errors.append(FieldError(field: "limit", code: "out_of_range", message: "limit must be 1 to 100"))
            }
        }
        guard errors.isEmpty else { throw DomainError.validation(errors) }
        if let value = query["cursor"] {
            guard let cursor = GenerationCursor(token: value) else {
                throw Problem(status: 400, code: "bad_cursor", title: "Bad Request",
                              detail: "The cursor is not one this listing issued; start again without it.")
            }
            filter.cursor = cursor
        }
        return filter
    }
}

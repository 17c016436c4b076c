import Domain
import Foundation

/// `/v1/generations/batch`: admit a whole batch under one reservation (on the HTTP thread:
/// database work only), run its items on the provider queue, read it, cancel what remains.
struct BatchHandlers: Sendable {
    let admission: BatchAdmission
    let executor: BatchExecutor
    let store: any GenerationStore
    let batches: any GenerationBatchStore
    let authenticator: Authenticator
    /// Lease of a single generation; a batch's items wait longer for their turn.
    let leaseSeconds: Int
    /// Its items' outputs become assets: no batch is admitted while its user keeps their quota's worth.
    let storage: StorageQuotaGate

    func create(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.liveIdentity(of: request)
        let (project, items) = try Self.decode(request)
        guard let key = try GenerationHandlers.idempotencyKey(request) else {
            try storage.requireRoomForGeneration(identity)
            return try admit(project, items, identity)
        }
        let claimed = try store.claimIdempotencyKey(key, requestHash: GenerationHandlers.requestHash(request),
                                                    staleAfterSeconds: GenerationHandlers.idempotencyStaleSeconds,
                                                    claimsJSON: identity.claimsJSON)
        guard claimed == .claimed else { return try GenerationHandlers.answer(claimed, collection: "/v1/generations/batch") }
        let response: HTTPResponse
        do {
            try storage.requireRoomForGeneration(identity)
            response = try admit(project, items, identity)
        } catch let problem as Problem where problem.status == 402 || problem.status == 422 {
            // A refusal is an answer too: the same request gets it again.
            try? store.finishIdempotencyKey(key, status: problem.status,
                                           body: GenerationHandlers.bodyText(problem.response(requestID: request.requestID)),
                                           claimsJSON: identity.claimsJSON)
            throw problem
        } catch {
            try? store.finishIdempotencyKey(key, status: nil, body: nil, claimsJSON: identity.claimsJSON)
            throw error
        }
        try store.finishIdempotencyKey(key, status: response.status, body: GenerationHandlers.bodyText(response), claimsJSON: identity.claimsJSON)
        return response
    }

    private func admit(_ project: UUID, _ items: [BatchItemRequest], _ identity: AuthenticatedIdentity) throws -> HTTPResponse {
        // Items waiting behind the per-provider bound have their leases renewed by the executor.
        let (batch, records): (GenerationBatchRecord, [GenerationRecord])
        do {
            (batch, records) = try admission.admit(project: project, items: items, itemLeaseSeconds: leaseSeconds, as: identity)
        } catch let refusal as BatchRefusal {
            throw Self.problem(refusal)
        }
        executor.start(batch, items: records, userID: identity.userID, claimsJSON: identity.claimsJSON)
        var response = try HTTPResponse.json(BatchBody(batch, records: records), status: 202)
        response.headers.append(("Location", "/v1/generations/batch/\(batch.id.lowercasedString)"))
        return response
    }

    static func problem(_ refusal: BatchRefusal) -> Problem {
        switch refusal {
        case .budget(let refusal):
            return GenerationHandlers.problem(refusal)
        case .item(let index, let refusal):
            let problem = GenerationHandlers.problem(refusal)
            var named = Problem(status: problem.status, code: problem.code, title: problem.title,
                                detail: "Item \(index): \(problem.detail) Nothing of the batch was admitted.",
                                errors: problem.errors?.map { FieldError(field: "items[\(index)].\($0.field)", code: $0.code, message: $0.message) })
            named.budget = problem.budget
            named.headers = problem.headers
            return named
        }
    }

    func get(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        guard let id = request.pathParameters["id"].flatMap(UUID.init(uuidString:)),
              var batch = try batches.batch(id, claimsJSON: identity.claimsJSON)
        else { throw DomainError.notFound(resource: "batch") }
        var details = try batch.items.compactMap { try store.detail($0.generationID, claimsJSON: identity.claimsJSON) }
        // Its process died after the last item ended: end it now (the sweep may have settled it).
        if batch.status == .running, details.count == batch.items.count, details.allSatisfy(\.generation.status.isTerminal) {
            batch = try executor.settlement.finishIfDone(id, claimsJSON: identity.claimsJSON) ?? batch
            details = try batch.items.compactMap { try store.detail($0.generationID, claimsJSON: identity.claimsJSON) }
        }
        return try .json(BatchBody(batch, details: details))
    }

    /// Cancel-remaining: every item not yet ended is canceled, charged what a canceled single
    /// generation in its state is charged (nothing, unless its provider may bill work it already
    /// holds: a submission in flight, a task its cancel did not stop); those that ended keep their
    /// results and costs. The batch ends, its reservation settled with the items' charges, once
    /// no canceled item awaits its provider's answer (at once when none does).
    func cancel(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.liveIdentity(of: request)
        guard let id = request.pathParameters["id"].flatMap(UUID.init(uuidString:)),
              let batch = try batches.batch(id, claimsJSON: identity.claimsJSON)
        else { throw DomainError.notFound(resource: "batch") }
        guard batch.status == .running, try batches.requestCancel(id, claimsJSON: identity.claimsJSON) != nil else {
            throw DomainError.conflict(code: "batch_finished", detail: "The batch already ended.")
        }
        for ref in batch.items {
            do {
                let (_, providerCancel) = try executor.runner.cancel(ref.generationID, userID: identity.userID, claimsJSON: identity.claimsJSON)
                // Stopping a task at the provider is an outbound call: a task on the provider queue
                // (holding no thread while in flight); the batch ends after its charge.
                if let providerCancel {
                    executor.stopAtProvider(providerCancel, item: ref.generationID, batchID: id, claimsJSON: identity.claimsJSON)
                }
                executor.board.signalSoon(ref.generationID)
            } catch DomainError.conflict {
                // It ended meanwhile: its result stands.
            }
        }
        let ended = try executor.settlement.finishIfDone(id, claimsJSON: identity.claimsJSON) ?? batch
        let details = try ended.items.compactMap { try store.detail($0.generationID, claimsJSON: identity.claimsJSON) }
        return try .json(BatchBody(ended, details: details))
    }
}

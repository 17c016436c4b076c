import Foundation

/// Canceling: what a canceled generation's provider work comes to and is charged
/// (`CanceledTaskCharge`), the cancel itself, and the worker's sweep of cancels left unresolved.
extension GenerationRunner {
    /// A canceled generation whose provider task was cancelled at the provider (or could not be:
    /// `cancel` nil): released, or charged the reserved estimate, as `CanceledTaskCharge` says.
    func endCanceledTask(_ record: GenerationRecord, task: ProviderTask, cancel: CancelOutcome?, claimsJSON: String) throws -> Step {
        switch CanceledTaskCharge.after(cancel, provider: task.provider) {
        case .nothing: return try stopped(record.id, claimsJSON)
        case .estimate: return try endUnknown(record, InFlightSubmission(provider: task.provider, model: task.model), claimsJSON: claimsJSON)
        }
    }

    /// As above, once the cancel at the provider answered, except for a task that had already
    /// finished (`alreadyFinished`): it is polled once for its actual result. Done, it is charged
    /// its actual usage like any finished task (its outputs kept; it stays canceled); failed at the
    /// provider, nothing, like any failed task. Only when that poll fails (or the provider still
    /// calls it pending) does `CanceledTaskCharge` decide.
    func endCanceledTask(_ record: GenerationRecord, task: ProviderTask, cancel: CancelOutcome?, userID: UUID,
                         claimsJSON: String) async throws -> Step {
        if cancel == .alreadyFinished, let adapter = provider(task.provider) {
            switch await pollOnce(task, adapter: adapter, userID: userID, claimsJSON: claimsJSON) {
            case .finished(let output):
                if let candidate = record.candidates.first(where: { $0.provider == task.provider && $0.model == task.model })
                    ?? record.candidates.first {
                    return try complete(record, candidate: candidate, output: output, report: nil, claimsJSON: claimsJSON)
                }
            case .failedAtProvider:
                return try stopped(record.id, claimsJSON)
            case .unknown:
                break
            }
        }
        return try endCanceledTask(record, task: task, cancel: cancel, claimsJSON: claimsJSON)
    }

    /// What one poll of a task found: its output, its failure at the provider (the task failed or
    /// was refused there: not billed), or nothing certain (the poll failed, or it is still pending).
    enum PolledTask {
        case finished(GenerationOutput)
        case failedAtProvider(ProviderError)
        case unknown
    }

    func pollOnce(_ task: ProviderTask, adapter: any MediaProvider, userID: UUID, claimsJSON: String) async -> PolledTask {
        guard let providerKey = try? key(userID, claimsJSON, task.provider) else { return .unknown }
        do {
            switch try await Self.call({ () async throws(ProviderError) in try await adapter.poll(task, key: providerKey) }) {
            case .finished(let output): return .finished(output)
            case .pending: return .unknown
            }
        } catch where error.kind == .generationFailed || error.kind == .contentRefused {
            return .failedAtProvider(error)
        } catch {
            return .unknown
        }
    }

    /// The worker's sweep: a canceled generation whose provider work was never resolved, because
    /// the process that held it died with a submission in flight or before its task's cancel
    /// was answered. The provider may have billed it, so it is charged as an unknown outcome (the
    /// reserved estimate, `estimated`), and it stays canceled.
    public func endAbandonedCancel(_ id: UUID, claimsJSON: String) throws {
        guard let record = try store.get(id, claimsJSON: claimsJSON), record.status == .canceled, record.costStatus == nil else { return }
        if let task = record.providerTask {
            _ = try endCanceledTask(record, task: task, cancel: nil, claimsJSON: claimsJSON)
        } else if let inFlight = record.submitting {
            _ = try endUnknown(record, inFlight, claimsJSON: claimsJSON)
        }
    }

    /// Cancels a queued or running generation. Nothing is charged unless the provider may have
    /// billed it: a synchronous submission in flight keeps the reservation for its answer, and a
    /// provider task keeps it until the cancel at the provider says what it came to
    /// (`CanceledTaskCharge`; a task found already finished is polled once for its actual
    /// result). Returns that provider call and the charge it leads to, to be run off the caller's
    /// thread, when there is one: it throws when recording that charge failed (the reservation
    /// then stays open, and the worker's sweep charges it as an unknown outcome).
    public func cancel(_ id: UUID, userID: UUID, claimsJSON: String) throws -> (GenerationRecord, providerCancel: (@Sendable () async throws -> Void)?) {
        guard let record = try store.get(id, claimsJSON: claimsJSON) else { throw DomainError.notFound(resource: "generation") }
        guard !record.status.isTerminal else {
            throw DomainError.conflict(code: "generation_finished", detail: "The generation already ended (\(record.status.rawValue)).")
        }
        guard let canceled = try store.advance(id, to: .canceled, changes: GenerationChanges(cancelRequested: true),
                                               event: GenerationEvent("canceled"), claimsJSON: claimsJSON)
        else {
            let now = try store.get(id, claimsJSON: claimsJSON)
            throw DomainError.conflict(code: "generation_finished", detail: "The generation already ended (\(now?.status.rawValue ?? "gone")).")
        }
        // A synchronous submission in flight keeps the reservation: if the provider answers and
        // bills, the runner settles that charge on the canceled generation; if not, it releases.
        guard let task = canceled.providerTask else {
            if canceled.submitting == nil {
                try ledger.release(generation: id, claimsJSON: claimsJSON)
                try? blobs.delete(scratchOf: id)
            }
            return (canceled, nil)
        }
        let adapter = provider(task.provider)
        return (canceled, { [self] in
            let outcome = try? await adapter?.cancel(task, key: try? key(userID, claimsJSON, task.provider))
            _ = try await endCanceledTask(canceled, task: task, cancel: outcome, userID: userID, claimsJSON: claimsJSON)
        })
    }
}

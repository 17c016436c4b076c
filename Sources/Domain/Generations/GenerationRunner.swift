import Foundation

/// Runs admitted generations, one step at a time: a step submits to the candidates in order
/// (falling through on retryable failures) or polls a pending provider task once. A step never
/// sleeps: when the provider asks to be polled later it says so, and the caller schedules the
/// next step, so waiting for a long video job holds no thread.
public struct GenerationRunner: Sendable {
    public enum Step: Sendable, Equatable {
        /// The generation ended (or had already ended) in this state.
        case finished(GenerationStatus)
        /// A provider task is pending; run the next step after this many seconds.
        case pollAgain(afterSeconds: Double)
    }

    public let store: any GenerationStore
    public let ledger: any BudgetReservations
    public let blobs: any BlobStore
    /// Circuit, rate token and health around each attempt.
    public let gate: any AttemptGate
    public let provider: @Sendable (ProviderID) -> (any MediaProvider)?
    /// The user's key for a provider (nil for providers that need none).
    public let key: @Sendable (_ userID: UUID, _ claimsJSON: String, ProviderID) throws -> ProviderAPIKey?
    /// A stored pricing version by id: the actual cost is priced with the admission's version.
    public let pricing: @Sendable (String) throws -> PricingVersion?
    /// How long a provider task may stay pending before the generation expires.
    public let pollDeadlineSeconds: Double
    public let leaseSeconds: Int

    public init(store: any GenerationStore, ledger: any BudgetReservations, blobs: any BlobStore, gate: any AttemptGate = OpenAttemptGate(),
                provider: @escaping @Sendable (ProviderID) -> (any MediaProvider)?,
                key: @escaping @Sendable (UUID, String, ProviderID) throws -> ProviderAPIKey?,
                pricing: @escaping @Sendable (String) throws -> PricingVersion?, pollDeadlineSeconds: Double, leaseSeconds: Int) {
        self.store = store
        self.ledger = ledger
        self.blobs = blobs
        self.gate = gate
        self.provider = provider
        self.key = key
        self.pricing = pricing
        self.pollDeadlineSeconds = pollDeadlineSeconds
        self.leaseSeconds = leaseSeconds
    }

    /// One step of generation `id`, acting as its owner. Errors of the database are thrown; every
    /// provider error is handled here.
    public func step(_ id: UUID, userID: UUID, claimsJSON: String) async throws -> Step {
        guard var record = try store.get(id, claimsJSON: claimsJSON) else { return .finished(.failed) }
        guard !record.status.isTerminal else { return .finished(record.status) }
        // Running already: another process (or an earlier try of this step) began it.
        let resumed = record.status == .running
        if record.status == .queued {
            guard let started = try store.advance(id, to: .running, changes: GenerationChanges(leaseSeconds: leaseSeconds),
                                                  event: GenerationEvent("started"), claimsJSON: claimsJSON)
            else { return .finished(try currentStatus(id, claimsJSON)) }
            record = started
        }
        if let task = record.providerTask {
            return try await poll(record, task: task, userID: userID, claimsJSON: claimsJSON)
        }
        if resumed, let charged = try ledger.charge(of: id, claimsJSON: claimsJSON) {
            // A provider success was charged, then the process died (or its storage failed) before
            // the outputs were recorded: it is never submitted again, and never released as free.
            return try endCharged(record, cost: charged, breakdown: nil, usage: nil, code: "output_lost",
                                  message: "The provider's answer was charged, but its outputs were lost before they were stored.",
                                  claimsJSON: claimsJSON)
        }
        return try await submit(record, userID: userID, claimsJSON: claimsJSON)
    }

    /// A lease that outlives the wait for the next poll, so a live process keeps its generation.
    private func lease(until task: ProviderTask) -> Int {
        leaseSeconds + Int(min(3600, max(0, task.pollAfterSeconds)).rounded(.up))
    }

    private func currentStatus(_ id: UUID, _ claimsJSON: String) throws -> GenerationStatus {
        try store.get(id, claimsJSON: claimsJSON)?.status ?? .failed
    }

    /// Tries the candidates from the current one on. A crash mid-walk resumes at the candidate
    /// last recorded on the row.
    private func submit(_ record: GenerationRecord, userID: UUID, claimsJSON: String) async throws -> Step {
        let start = record.candidates.firstIndex { $0.provider == record.provider && $0.model == record.model } ?? 0
        var lastError: ProviderError?
        var skipped = false
        for (index, candidate) in record.candidates.enumerated().dropFirst(start) {
            guard let adapter = provider(candidate.provider) else { continue }
            if record.provider != candidate.provider || record.model != candidate.model {
                guard try store.advance(record.id, to: nil, changes: GenerationChanges(provider: candidate.provider, model: candidate.model,
                                                                                      leaseSeconds: leaseSeconds),
                                        event: nil, claimsJSON: claimsJSON) != nil
                else { return .finished(try currentStatus(record.id, claimsJSON)) }
            }
            // The candidate's provider budget holds the reservation before it is called (and the
            // previous candidate's lets go), so whoever serves never goes past its monthly budget.
            if index > 0 || !ledger.firstProviderHeldAtAdmission {
                let held = try ledger.holdProvider(generation: record.id, amount: record.estimate ?? candidate.estimate,
                                                   provider: candidate.provider, claimsJSON: claimsJSON)
                if !held.admitted {
                    guard try store.advance(record.id, to: nil, changes: GenerationChanges(leaseSeconds: leaseSeconds),
                                            event: GenerationEvent("skipped", ["provider": candidate.provider.rawValue,
                                                                              "model": candidate.model, "reason": "budget_exceeded"]),
                                            claimsJSON: claimsJSON) != nil
                    else { return .finished(try currentStatus(record.id, claimsJSON)) }
                    skipped = true
                    continue
                }
            }
            if let reason = try gate.clear(candidate.provider, userID: userID, claimsJSON: claimsJSON, at: Date()) {
                // Not called: the skip is an event, not an attempt, and says nothing of the provider's health.
                guard try store.advance(record.id, to: nil, changes: GenerationChanges(leaseSeconds: leaseSeconds),
                                        event: GenerationEvent("skipped", ["provider": candidate.provider.rawValue,
                                                                          "model": candidate.model, "reason": reason]),
                                        claimsJSON: claimsJSON) != nil
                else { return .finished(try currentStatus(record.id, claimsJSON)) }
                skipped = true
                continue
            }
            let result: ProviderResult
            let started = Date()
            do {
                let providerKey = try key(userID, claimsJSON, candidate.provider)
                let request = GenerationRequest(kind: record.kind, model: candidate.model, prompt: record.prompt,
                                                parameters: record.settings.providerParameters,
                                                outputDirectory: try blobs.scratchDirectory(for: record.id))
                result = try await Self.call { () async throws(ProviderError) in try await adapter.submit(request, key: providerKey) }
            } catch let error as ProviderError {
                report(candidate.provider, AttemptOutcome(error), headers: error.rateLimitHeaders ?? [:], retryAfter: error.retryAfter,
                       userID: userID, claimsJSON: claimsJSON)
                try store.recordAttempt(record.id, provider: candidate.provider, model: candidate.model, error: error, claimsJSON: claimsJSON)
                lastError = error
                if error.isRetryable { continue }
                return try fail(record, code: error.code, message: error.message, claimsJSON: claimsJSON)
            } catch let error as KeyVaultError {
                // No usable key (deleted since admission, or unopenable): this candidate cannot run; the next may.
                let reason = if case .unopenable = error { "The stored key does not open." } else { "No usable key." }
                let failure = ProviderError(.invalidKey, provider: candidate.provider, message: reason)
                try store.recordAttempt(record.id, provider: candidate.provider, model: candidate.model, error: failure, claimsJSON: claimsJSON)
                lastError = failure
                continue
            }
            let headers: [String: String] = if case .finished(let output) = result { output.rateLimits } else { [:] }
            report(candidate.provider, .success(latency: Date().timeIntervalSince(started)), headers: headers, retryAfter: nil,
                   userID: userID, claimsJSON: claimsJSON)
            switch result {
            case .finished(let output):
                return try complete(record, candidate: candidate, output: output, claimsJSON: claimsJSON)
            case .pending(let task):
                // Stored before the first poll: a restarted worker polls this task, never submits again.
                guard try store.advance(record.id, to: nil, changes: GenerationChanges(providerTask: task, leaseSeconds: lease(until: task)),
                                        event: GenerationEvent("progress", ["provider_status": task.providerStatus ?? "submitted"]),
                                        claimsJSON: claimsJSON) != nil
                else {
                    _ = try? await adapter.cancel(task, key: try? key(userID, claimsJSON, candidate.provider))
                    return .finished(try currentStatus(record.id, claimsJSON))
                }
                return .pollAgain(afterSeconds: max(0.05, task.pollAfterSeconds))
            }
        }
        return try fail(record, code: lastError == nil ? "no_provider" : "providers_exhausted",
                        message: lastError.map { "Every candidate failed; the last: \($0.description)" }
                            ?? (skipped ? "Every candidate was skipped (open circuit, rate limit or provider budget)." : "No candidate provider is available."),
                        claimsJSON: claimsJSON)
    }

    /// Health and rate-limit bookkeeping must never lose an attempt's result (a paid output, a
    /// failure to fall through from), so its own failure is ignored: the next attempt reports again.
    private func report(_ provider: ProviderID, _ outcome: AttemptOutcome, headers: [String: String], retryAfter: Double?,
                        userID: UUID, claimsJSON: String) {
        try? gate.report(provider, outcome: outcome, headers: headers, retryAfter: retryAfter, userID: userID,
                         claimsJSON: claimsJSON, at: Date())
    }

    private func poll(_ record: GenerationRecord, task: ProviderTask, userID: UUID, claimsJSON: String) async throws -> Step {
        guard let adapter = provider(task.provider),
              let candidate = record.candidates.first(where: { $0.provider == task.provider && $0.model == task.model })
                ?? record.candidates.first
        else { return try fail(record, code: "unsupported", message: "The provider of this task is not available.", claimsJSON: claimsJSON) }
        if Date().timeIntervalSince(task.submittedAt) > pollDeadlineSeconds {
            _ = try? await adapter.cancel(task, key: try? key(userID, claimsJSON, task.provider))
            return try end(record, as: .expired, code: "deadline_exceeded",
                           message: "The provider did not finish within \(Int(pollDeadlineSeconds)) s.", claimsJSON: claimsJSON)
        }
        do {
            let providerKey = try key(userID, claimsJSON, task.provider)
            switch try await Self.call({ () async throws(ProviderError) in try await adapter.poll(task, key: providerKey) }) {
            case .finished(let output):
                return try complete(record, candidate: candidate, output: output, claimsJSON: claimsJSON)
            case .pending(let next):
                let changed = next.providerStatus != task.providerStatus || next.progress != task.progress
                var payload = ["provider_status": next.providerStatus ?? ""]
                if let progress = next.progress { payload["progress"] = String(progress) }
                guard try store.advance(record.id, to: nil, changes: GenerationChanges(providerTask: next, leaseSeconds: lease(until: next)),
                                        event: changed ? GenerationEvent("progress", payload) : nil, claimsJSON: claimsJSON) != nil
                else { return .finished(try currentStatus(record.id, claimsJSON)) }
                return .pollAgain(afterSeconds: max(0.05, next.pollAfterSeconds))
            }
        } catch let error as ProviderError {
            // The task is still running at the provider: a failed poll is asked again, later.
            if error.isRetryable {
                return .pollAgain(afterSeconds: min(60, max(error.retryAfter ?? 0, task.pollAfterSeconds * 2, 1)))
            }
            try store.recordAttempt(record.id, provider: task.provider, model: task.model, error: error, claimsJSON: claimsJSON)
            return try fail(record, code: error.code, message: error.message, claimsJSON: claimsJSON)
        }
    }

    /// Prices the usage with the admission's pricing version, settles, then stores the outputs.
    /// The charge comes first: once the provider has billed a success, the ledger says so before
    /// anything else can fail, so a crash or a storage error afterwards never leads to a second
    /// submission or a release as if the work were free (`step` ends it failed-but-charged).
    private func complete(_ record: GenerationRecord, candidate: GenerationCandidate, output: GenerationOutput,
                          claimsJSON: String) throws -> Step {
        let usage = UsageMapping.pricingUsage(from: output.usage, provider: candidate.provider, kind: record.kind, files: output.files)
        var breakdown: CostBreakdown?
        if let version = try pricing(record.pricingVersion) {
            breakdown = CostCalculator.cost(of: usage, provider: candidate.provider.rawValue, model: candidate.model, pricing: version)
        }
        // A cost the catalog cannot price is charged at the reserved estimate, never as $0.
        let cost = breakdown?.total ?? record.estimate ?? candidate.estimate
        do {
            // Charged to the provider that served, whose scope holds the reservation.
            try ledger.settle(generation: record.id, cost: cost, provider: candidate.provider, claimsJSON: claimsJSON)
        } catch DomainError.conflict(code: "reservation_ended", _) {
            // A cancel released the reservation first: the generation is canceled, not charged.
            try? blobs.delete(scratchOf: record.id)
            return .finished(try currentStatus(record.id, claimsJSON))
        }
        do {
            try storeOutputs(record, output: output, claimsJSON: claimsJSON)
        } catch {
            return try endCharged(record, cost: cost, breakdown: breakdown, usage: usage, code: "output_storage_failed",
                                  message: "The provider's answer was charged, but storing its outputs failed: \(error)", claimsJSON: claimsJSON)
        }
        try store.recordAttempt(record.id, provider: candidate.provider, model: candidate.model, error: nil, claimsJSON: claimsJSON)
        guard try store.advance(record.id, to: .succeeded, changes: GenerationChanges(
            outputText: output.text, actualCost: cost, providerReportedCost: usage.providerReportedCost,
            costBreakdown: breakdown, usage: usage), event: GenerationEvent("succeeded", ["actual_cost": cost.jsonString]),
                                claimsJSON: claimsJSON) != nil
        else {
            // Canceled after the provider answered: the charge stands (the provider billed it).
            return .finished(try currentStatus(record.id, claimsJSON))
        }
        return .finished(.succeeded)
    }

    private func storeOutputs(_ record: GenerationRecord, output: GenerationOutput, claimsJSON: String) throws {
        let assetKind: MediaKind = record.kind == .imageToVideo ? .video : record.kind
        if let text = output.text {
            let blob = try blobs.put(Data(text.utf8), owner: record.userID)
            _ = try store.addAsset(record.id, kind: .text, contentType: "text/plain; charset=utf-8", blob: blob, claimsJSON: claimsJSON)
        }
        for file in output.files {
            let blob = try blobs.put(fileAt: file.path, owner: record.userID)
            _ = try store.addAsset(record.id, kind: assetKind, contentType: file.mimeType, blob: blob, claimsJSON: claimsJSON)
        }
        try? blobs.delete(scratchOf: record.id)
    }

    /// Ends a generation the provider billed but whose outputs are gone: failed, with the charge
    /// recorded on it (the ledger was settled already; nothing is released).
    private func endCharged(_ record: GenerationRecord, cost: Money, breakdown: CostBreakdown?, usage: Usage?, code: String,
                            message: String, claimsJSON: String) throws -> Step {
        try? blobs.delete(scratchOf: record.id)
        guard try store.advance(record.id, to: .failed, changes: GenerationChanges(
            errorCode: code, errorMessage: message, actualCost: cost, providerReportedCost: usage?.providerReportedCost,
            costBreakdown: breakdown, usage: usage),
                                event: GenerationEvent("failed", ["code": code, "actual_cost": cost.jsonString]), claimsJSON: claimsJSON) != nil
        else { return .finished(try currentStatus(record.id, claimsJSON)) }
        return .finished(.failed)
    }

    private func fail(_ record: GenerationRecord, code: String, message: String, claimsJSON: String) throws -> Step {
        try end(record, as: .failed, code: code, message: message, claimsJSON: claimsJSON)
    }

    /// Ends without a charge: the reservation is released.
    private func end(_ record: GenerationRecord, as status: GenerationStatus, code: String, message: String, claimsJSON: String) throws -> Step {
        try? blobs.delete(scratchOf: record.id)
        guard try store.advance(record.id, to: status, changes: GenerationChanges(errorCode: code, errorMessage: message),
                                event: GenerationEvent(status.rawValue, ["code": code]), claimsJSON: claimsJSON) != nil
        else { return .finished(try currentStatus(record.id, claimsJSON)) }
        try ledger.release(generation: record.id, claimsJSON: claimsJSON)
        return .finished(status)
    }

    /// Cancels a queued or running generation: nothing is charged. Returns the provider call
    /// that stops the task at the provider, to be run off the caller's thread, when there is one.
    public func cancel(_ id: UUID, userID: UUID, claimsJSON: String) throws -> (GenerationRecord, providerCancel: (@Sendable () async -> Void)?) {
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
        try ledger.release(generation: id, claimsJSON: claimsJSON)
        try? blobs.delete(scratchOf: id)
        guard let task = record.providerTask, let adapter = provider(task.provider) else { return (canceled, nil) }
        let key = self.key
        return (canceled, {
            _ = try? await adapter.cancel(task, key: try? key(userID, claimsJSON, task.provider))
        })
    }

    /// Typed throws kept apart from the untyped catch above.
    private static func call<T>(_ body: () async throws(ProviderError) -> T) async throws(ProviderError) -> T {
        try await body()
    }
}

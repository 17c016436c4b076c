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
    /// The key admission chose for a first attempt, opened (`KeyVault.decryptedKey(admitted:userID:claimsJSON:)`);
    /// nil: the first attempt's key is looked up with `key` as every other's.
    public let admittedKey: (@Sendable (_ userID: UUID, _ claimsJSON: String, AdmittedKey) throws -> ProviderAPIKey)?
    /// A stored pricing version by id: the actual cost is priced with the admission's version.
    public let pricing: @Sendable (String) throws -> PricingVersion?
    /// How long a provider task may stay pending before the generation expires.
    public let pollDeadlineSeconds: Double
    public let leaseSeconds: Int
    /// Told every generation this runner finishes with the detail its last call returned, so
    /// whoever waits for it answers without reading it again.
    public let finished: (@Sendable (GenerationDetail) -> Void)?
    /// Offered a succeeded text answer before its settlement is written (see `EarlyAnswers`).
    public let earlyAnswers: (any EarlyAnswers)?
    /// Readers of text answers as they arrive (streaming chat): a text submission with a sink
    /// registered here uses the provider's streaming call.
    public let streams: TextStreams?
    /// Counts the output of a stream that broke before the provider reported its usage.
    public let tokenCounter: any TokenCounting

    public init(store: any GenerationStore, ledger: any BudgetReservations, blobs: any BlobStore, gate: any AttemptGate = OpenAttemptGate(),
                provider: @escaping @Sendable (ProviderID) -> (any MediaProvider)?,
                key: @escaping @Sendable (UUID, String, ProviderID) throws -> ProviderAPIKey?,
                pricing: @escaping @Sendable (String) throws -> PricingVersion?, pollDeadlineSeconds: Double, leaseSeconds: Int,
                finished: (@Sendable (GenerationDetail) -> Void)? = nil, streams: TextStreams? = nil,
                admittedKey: (@Sendable (UUID, String, AdmittedKey) throws -> ProviderAPIKey)? = nil,
                tokenCounter: any TokenCounting = ModelTokenCounter(tokenizers: [:]), earlyAnswers: (any EarlyAnswers)? = nil) {
        self.earlyAnswers = earlyAnswers
        self.streams = streams
        self.tokenCounter = tokenCounter
        self.admittedKey = admittedKey
        self.store = store
        self.ledger = ledger
        self.blobs = blobs
        self.gate = gate
        self.provider = provider
        self.key = key
        self.pricing = pricing
        self.pollDeadlineSeconds = pollDeadlineSeconds
        self.leaseSeconds = leaseSeconds
        self.finished = finished
    }

    /// One step of generation `id`, acting as its owner. Errors of the database are thrown; every
    /// provider error is handled here. `admitted`: the record admission just created for this
    /// process to run (`GenerationAdmission.admit(startHere:)`), so the first step reads nothing
    /// back; give it to the first step only (a retry after an error reads the row).
    public func step(_ id: UUID, userID: UUID, claimsJSON: String, admitted: GenerationRecord? = nil) async throws -> Step {
        let fresh = admitted.map { $0.id == id && $0.status == .running && $0.providerTask == nil } ?? false
        guard var record = fresh ? admitted : try store.get(id, claimsJSON: claimsJSON) else { return .finished(.failed) }
        guard !record.status.isTerminal else { return .finished(record.status) }
        // Running already and not handed over by admission: another process (or an earlier try of
        // this step) began it.
        let resumed = record.status == .running && !fresh
        if record.status == .queued {
            let first = record.candidates.first { $0.provider == record.provider && $0.model == record.model } ?? record.candidates.first
            guard let started = try store.advance(id, to: .running, changes: GenerationChanges(
                leaseSeconds: leaseSeconds, submitting: first.map { .some(InFlightSubmission(provider: $0.provider, model: $0.model)) }),
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
        if resumed, let inFlight = record.submitting {
            return try endUnknown(record, inFlight, claimsJSON: claimsJSON)
        }
        return try await submit(record, userID: userID, claimsJSON: claimsJSON)
    }

    /// A process died while a synchronous submission was in flight (sent, its answer not
    /// recorded): the provider may have run and billed it, and submitting again could bill twice.
    /// It ends `failed` with `outcome_unknown`, charged the reserved estimate (an upper bound of
    /// what the provider could have billed, so no budget is overrun by work the ledger missed),
    /// recorded as `estimated`. An unpriced candidate reserved nothing and charges nothing.
    /// On a generation canceled meanwhile, the charge is recorded and it stays canceled. The same
    /// charge ends a provider task that expired uncancelled (`status` `.expired`, its `code` and
    /// `message`).
    func endUnknown(_ record: GenerationRecord, _ inFlight: InFlightSubmission, status: GenerationStatus = .failed,
                    code: String = "outcome_unknown", message: String? = nil, claimsJSON: String) throws -> Step {
        let candidate = record.candidates.first { $0.provider == inFlight.provider && $0.model == inFlight.model }
        let unpriced = candidate?.isUnpriced ?? false
        let cost: Money? = unpriced ? nil : (record.estimate ?? candidate?.estimate)
        var payload = ["code": code]
        if let cost { payload["actual_cost"] = StoredJSONWriter.moneyText(cost) }
        try? blobs.delete(scratchOf: record.id)
        let completion = GenerationCompletion(
            status: status, provider: inFlight.provider, model: inFlight.model, cost: cost, costStatus: unpriced ? "unpriced" : "estimated",
            providerReportedCost: nil, breakdown: nil, usage: nil, outputText: nil, assets: [], errorCode: code,
            errorMessage: message ?? "The process running this generation stopped while \(inFlight.provider.rawValue) was answering; "
                + "it is not submitted again, since the provider may have run and billed it. Charged at the reserved estimate.",
            recordsAttempt: false, providerScopeOnly: ledger.settlesProviderScopeOnly, event: GenerationEvent(status.rawValue, payload))
        return try finish(record, completion, claimsJSON: claimsJSON)
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
        var skippedAny = false
        var record = record
        // Admission cleared the first candidate in its own call (gate, rate token, key).
        let admitted = record.firstAttempt
        for (index, candidate) in record.candidates.enumerated().dropFirst(start) {
            guard let adapter = provider(candidate.provider) else { continue }
            let inFlight = InFlightSubmission(provider: candidate.provider, model: candidate.model)
            // Marked in flight before the provider is called (admission marks the first candidate).
            if record.provider != candidate.provider || record.model != candidate.model || record.submitting != inFlight {
                guard let moved = try store.advance(record.id, to: nil, changes: GenerationChanges(
                    provider: candidate.provider, model: candidate.model, leaseSeconds: leaseSeconds, submitting: .some(inFlight)),
                                                    event: nil, claimsJSON: claimsJSON)
                else { return try stopped(record.id, claimsJSON) }
                record = moved
            }
            // Any database failure before the call leaves nothing in flight, so a retry of the
            // step submits rather than ending the generation `outcome_unknown`.
            let cleared = index == 0 ? admitted.flatMap { $0.provider == candidate.provider ? $0 : nil } : nil
            let skip: String?
            do {
                skip = if let cleared { cleared.skipReason }
                       else { try gateBeforeCall(record, index: index, candidate: candidate, userID: userID, claimsJSON: claimsJSON) }
            } catch {
                _ = try? store.advance(record.id, to: nil, changes: GenerationChanges(submitting: .some(nil)), event: nil, claimsJSON: claimsJSON)
                throw error
            }
            if let reason = skip {
                // Not called: the skip is an event, not an attempt, and says nothing of the provider's health.
                guard let skipped = try store.advance(record.id, to: nil,
                                                      changes: GenerationChanges(leaseSeconds: leaseSeconds, submitting: .some(nil)),
                                                      event: GenerationEvent("skipped", ["provider": candidate.provider.rawValue,
                                                                                        "model": candidate.model, "reason": reason]),
                                                      claimsJSON: claimsJSON)
                else { return try stopped(record.id, claimsJSON) }
                record = skipped
                skippedAny = true
                continue
            }
            let providerKey: ProviderAPIKey?
            let request: GenerationRequest
            do {
                providerKey = if let chosen = cleared?.key, let admittedKey { try admittedKey(userID, claimsJSON, chosen) }
                              else { try key(userID, claimsJSON, candidate.provider) }
                request = GenerationRequest(kind: record.kind, model: candidate.model, prompt: record.prompt,
                                            parameters: record.settings.providerParameters,
                                            outputDirectory: try blobs.scratchPath(for: record.id))
            } catch let error as KeyVaultError {
                // No usable key (deleted since admission, or unopenable): this candidate cannot run; the next may.
                let reason = if case .unopenable = error { "The stored key does not open." } else { "No usable key." }
                let failure = ProviderError(.invalidKey, provider: candidate.provider, message: reason)
                try store.recordAttempt(record.id, provider: candidate.provider, model: candidate.model, error: failure, report: nil,
                                        claimsJSON: claimsJSON)
                lastError = failure
                continue
            } catch {
                _ = try? store.advance(record.id, to: nil, changes: GenerationChanges(submitting: .some(nil)), event: nil, claimsJSON: claimsJSON)
                throw error
            }
            let result: ProviderResult
            let started = Date()
            let stream = record.kind == .text ? streams?.sink(for: record.id) : nil
            do {
                result = try await Self.call { () async throws(ProviderError) in
                    if let stream { return try await adapter.submitStreaming(request, key: providerKey, sink: stream.watching) }
                    return try await adapter.submit(request, key: providerKey)
                }
            } catch {
                // Recorded even when a cancel came meanwhile (its reservation waits for this answer),
                // with what it taught the router, in one call.
                try store.recordAttempt(record.id, provider: candidate.provider, model: candidate.model, error: error,
                                        report: gate.report(candidate.provider, outcome: AttemptOutcome(error),
                                                            headers: error.rateLimitHeaders ?? [:], retryAfter: error.retryAfter, at: Date()),
                                        claimsJSON: claimsJSON)
                lastError = error
                // Usage reported before the failure (a stream cut after Anthropic's message_start) may
                // have been billed: it is charged, and nothing else is tried (that would charge twice).
                if var usage = error.usageBeforeFailure {
                    // Anthropic's message_start reports the input and only the first output tokens; the
                    // text that reached the reader after it was generated, and billed, too.
                    var countedWith: String?
                    if let stream, stream.hasDelivered {
                        let counted = countedUsage(record, candidate: candidate, output: stream.received)
                        if counted.usage.outputTokens > usage.outputTokens {
                            usage.outputTokens = counted.usage.outputTokens
                            countedWith = counted.countedWith
                        }
                    }
                    return try chargeFailure(record, candidate: candidate, usage: usage, countedWith: countedWith,
                                             inputAsReported: true, error: error, claimsJSON: claimsJSON)
                }
                // Text reached the reader but no usage was reported (OpenAI and OpenRouter report it
                // only in the final chunk): the provider billed what it generated, counted here.
                if let stream, stream.hasDelivered {
                    let (usage, countedWith) = countedUsage(record, candidate: candidate, output: stream.received)
                    return try chargeFailure(record, candidate: candidate, usage: usage, countedWith: countedWith, error: error,
                                             claimsJSON: claimsJSON)
                }
                // Sent, and its answer lost: the provider may have run and billed it. Neither sent
                // again nor passed to another candidate (that could be billed twice), nor released
                // as free: charged as an unknown outcome, like a process that died mid-call. (A
                // stream that broke before any text is not: its provider stops when the reader goes.)
                if error.mayHaveBeenBilled && stream == nil {
                    return try endUnknown(record, InFlightSubmission(provider: candidate.provider, model: candidate.model),
                                          message: "The call to \(candidate.provider.rawValue) was sent and its answer lost (\(error.message)); "
                                              + "it is not sent again, since the provider may have run and billed it. Charged at the reserved estimate.",
                                          claimsJSON: claimsJSON)
                }
                // A reader that has part of this answer must not get another candidate's spliced on.
                if error.isRetryable && !(stream?.hasDelivered ?? false) { continue }
                return try fail(record, code: error.code, message: error.message, claimsJSON: claimsJSON)
            }
            let headers: [String: String] = if case .finished(let output) = result { output.rateLimits } else { [:] }
            // Written with the answer's own record (the finish, or the stored task).
            let report = gate.report(candidate.provider, outcome: .success(latency: Date().timeIntervalSince(started)), headers: headers,
                                     retryAfter: nil, at: Date())
            switch result {
            case .finished(let output):
                return try complete(record, candidate: candidate, output: output, report: report, claimsJSON: claimsJSON)
            case .pending(let task):
                // Stored before the first poll: a restarted worker polls this task, never submits again.
                guard try store.advance(record.id, to: nil, changes: GenerationChanges(providerTask: task, leaseSeconds: lease(until: task),
                                                                                       report: report),
                                        event: GenerationEvent("progress", ["provider_status": task.providerStatus ?? "submitted"]),
                                        claimsJSON: claimsJSON) != nil
                else {
                    // Canceled while the submission was in flight: the task is cancelled as soon as
                    // the provider names it, and charged by what that cancel came to.
                    let outcome = try? await adapter.cancel(task, key: try? key(userID, claimsJSON, candidate.provider))
                    return try await endCanceledTask(record, task: task, cancel: outcome, userID: userID, claimsJSON: claimsJSON)
                }
                return .pollAgain(afterSeconds: max(0.05, task.pollAfterSeconds))
            }
        }
        return try fail(record, code: lastError == nil ? "no_provider" : "providers_exhausted",
                        message: lastError.map { "Every candidate failed; the last: \($0.description)" }
                            ?? (skippedAny ? "Every candidate was skipped (open circuit, rate limit or provider budget)." : "No candidate provider is available."),
                        claimsJSON: claimsJSON)
    }

    /// Whether `candidate` may be called now: its provider budget holds the reservation (the
    /// previous candidate's lets go), so whoever serves never goes past its monthly budget, and
    /// the gate (circuit, rate token) lets it through. nil: call it; else the skip reason.
    private func gateBeforeCall(_ record: GenerationRecord, index: Int, candidate: GenerationCandidate, userID: UUID,
                                claimsJSON: String) throws -> String? {
        if index > 0 || !ledger.firstProviderHeldAtAdmission {
            let held = try ledger.holdProvider(generation: record.id, amount: record.estimate ?? candidate.estimate,
                                               provider: candidate.provider, claimsJSON: claimsJSON)
            if !held.admitted { return "budget_exceeded" }
        }
        return try gate.clear(candidate.provider, userID: userID, claimsJSON: claimsJSON, at: Date())
    }

    /// The generation ended under this step (a cancel, or another process): nothing more is
    /// sent. A reservation a cancel kept for an answer in flight is released here, once that
    /// answer turned out to be no charge (a settled one is left as it is).
    /// When the release fails, what it stood for is not lost: the generation is recorded as
    /// holding no provider work, so the worker's sweep releases it (it would otherwise charge the
    /// reserved estimate, as for a task the provider may have billed).
    func stopped(_ id: UUID, _ claimsJSON: String) throws -> Step {
        do {
            try ledger.release(generation: id, claimsJSON: claimsJSON)
        } catch {
            _ = try? store.endProviderWork(id, claimsJSON: claimsJSON)
        }
        try? blobs.delete(scratchOf: id)
        return .finished(try currentStatus(id, claimsJSON))
    }

    private func poll(_ record: GenerationRecord, task: ProviderTask, userID: UUID, claimsJSON: String) async throws -> Step {
        guard let adapter = provider(task.provider),
              let candidate = record.candidates.first(where: { $0.provider == task.provider && $0.model == task.model })
                ?? record.candidates.first
        else { return try fail(record, code: "unsupported", message: "The provider of this task is not available.", claimsJSON: claimsJSON) }
        if Date().timeIntervalSince(task.submittedAt) > pollDeadlineSeconds {
            // Stopped at the provider where it can be: what that came to decides the charge, as for a cancel.
            let outcome = try? await adapter.cancel(task, key: try? key(userID, claimsJSON, task.provider))
            // Too late to stop: it finished meanwhile, and its actual result decides.
            if outcome == .alreadyFinished {
                switch await pollOnce(task, adapter: adapter, userID: userID, claimsJSON: claimsJSON) {
                case .finished(let output): return try complete(record, candidate: candidate, output: output, report: nil, claimsJSON: claimsJSON)
                case .failedAtProvider(let error):
                    try store.recordAttempt(record.id, provider: task.provider, model: task.model, error: error, report: nil, claimsJSON: claimsJSON)
                    return try fail(record, code: error.code, message: error.message, claimsJSON: claimsJSON)
                case .unknown: break
                }
            }
            let message = "The provider did not finish within \(Int(pollDeadlineSeconds)) s."
            guard CanceledTaskCharge.after(outcome, provider: task.provider) == .estimate else {
                return try end(record, as: .expired, code: "deadline_exceeded", message: message, claimsJSON: claimsJSON)
            }
            return try endUnknown(record, InFlightSubmission(provider: task.provider, model: task.model), status: .expired,
                                  code: "deadline_exceeded",
                                  message: message + " The job could not be stopped at the provider, which may bill it: charged at the reserved estimate.",
                                  claimsJSON: claimsJSON)
        }
        do {
            let providerKey = try key(userID, claimsJSON, task.provider)
            switch try await Self.call({ () async throws(ProviderError) in try await adapter.poll(task, key: providerKey) }) {
            case .finished(let output):
                return try complete(record, candidate: candidate, output: output, report: nil, claimsJSON: claimsJSON)
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
                let wait = min(60, max(error.retryAfter ?? 0, task.pollAfterSeconds * 2, 1))
                // The lease must outlast the wait, as a pending answer's does (`lease(until:)`): a
                // provider failing its polls for longer than the lease would otherwise let another
                // process take the task over while this one still polls it, both downloading its outputs.
                _ = try? store.advance(record.id, to: nil, changes: GenerationChanges(leaseSeconds: leaseSeconds + Int(wait.rounded(.up))),
                                       event: nil, claimsJSON: claimsJSON)
                return .pollAgain(afterSeconds: wait)
            }
            try store.recordAttempt(record.id, provider: task.provider, model: task.model, error: error, report: nil, claimsJSON: claimsJSON)
            return try fail(record, code: error.code, message: error.message, claimsJSON: claimsJSON)
        }
    }

    /// Prices the usage with the admission's pricing version, stores the outputs, then ends the
    /// attempt in one call (`GenerationStore.finish`): charge, attempt, assets, costs and state
    /// together. Until that call commits the submission stays marked in flight, so a crash before
    /// it never leads to a second submission (`step` ends it `outcome_unknown`); a storage error
    /// ends it failed but charged, since the provider billed it. `report`: what the attempt taught
    /// the router, written in the same call.
    func complete(_ record: GenerationRecord, candidate: GenerationCandidate, output: GenerationOutput, report: AttemptReport?,
                  claimsJSON: String) throws -> Step {
        let usage = UsageMapping.pricingUsage(from: output.usage, provider: candidate.provider, kind: record.kind, files: output.files)
        let (cost, costStatus, breakdown) = try price(usage, record: record, candidate: candidate)
        var payload: [String: String] = [:]
        if let cost { payload["actual_cost"] = StoredJSONWriter.moneyText(cost) }
        let assets: [NewAsset]
        do {
            assets = try storeOutputs(record, output: output)
        } catch {
            try? blobs.delete(scratchOf: record.id)
            payload["code"] = "output_storage_failed"
            return try finish(record, GenerationCompletion(
                status: .failed, provider: candidate.provider, model: candidate.model, cost: cost, costStatus: costStatus,
                providerReportedCost: usage.providerReportedCost, breakdown: breakdown, usage: usage, outputText: nil, assets: [],
                errorCode: "output_storage_failed", errorMessage: "The provider's answer was charged, but storing its outputs failed: \(error)",
                recordsAttempt: true, providerScopeOnly: ledger.settlesProviderScopeOnly, event: GenerationEvent("failed", payload),
                report: report), claimsJSON: claimsJSON)
        }
        // After the finish: its outputs are stored already, and a chat answer need not wait for a file system call.
        defer { try? blobs.delete(scratchOf: record.id) }
        return try finish(record, GenerationCompletion(
            status: .succeeded, provider: candidate.provider, model: candidate.model, cost: cost, costStatus: costStatus,
            providerReportedCost: usage.providerReportedCost, breakdown: breakdown, usage: usage, outputText: output.text, assets: assets,
            errorCode: nil, errorMessage: nil, recordsAttempt: true, providerScopeOnly: ledger.settlesProviderScopeOnly,
            event: GenerationEvent("succeeded", payload), report: report, finishReason: output.finishReason), claimsJSON: claimsJSON)
    }

    /// What `usage` costs, priced with the admission's pricing version: the cost (nil: nothing),
    /// its `cost_status`, and the priced lines.
    private func price(_ usage: Usage, record: GenerationRecord, candidate: GenerationCandidate) throws
        -> (cost: Money?, status: String, breakdown: CostBreakdown?) {
        var breakdown: CostBreakdown?
        if !candidate.isUnpriced, let version = try pricing(record.pricingVersion) {
            breakdown = CostCalculator.cost(of: usage, provider: candidate.provider.rawValue, model: candidate.model, pricing: version)
        }
        // A priced model's answer that metered nothing it bills by (no usage in the answer, an image
        // without its size) would come to $0 as if priced: it is charged the estimate below instead.
        if let breakdown, let total = breakdown.total, breakdown.status != .priced || !breakdown.lines.isEmpty {
            return (total, "priced", breakdown)
        }
        // No price to reserve or charge by: the provider's own figure when it reports one
        // (OpenRouter's usage.cost), otherwise nothing, and `unpriced` says so (never $0 as if priced).
        if candidate.isUnpriced { return (usage.providerReportedCost, "unpriced", nil) }
        // A priced model whose usage the catalog cannot price: the reserved estimate, never $0.
        return (record.estimate ?? candidate.estimate, "estimated", nil)
    }

    /// The usage of a stream that broke after text reached its reader but before the provider
    /// reported usage: the input tokens as admission counted them for `candidate` (the prompt
    /// counted again for a generation admitted before they were kept), the output tokens counted
    /// in the text received, with the model's tokenizer (or its upper bound). Returns the
    /// tokenizer too: the usage is recorded as counted here (`usage_counted_with`).
    private func countedUsage(_ record: GenerationRecord, candidate: GenerationCandidate, output: String)
        -> (usage: NormalisedUsage, countedWith: String) {
        let provider = candidate.provider.rawValue
        let input = candidate.inputTokens ?? tokenCounter.countTokens(record.prompt, provider: provider, model: candidate.model).count
        let counted = tokenCounter.countTokens(output, provider: provider, model: candidate.model)
        return (NormalisedUsage(inputTokens: input, outputTokens: counted.count), counted.countedWith)
    }

    /// A call that failed after the provider reported usage (`ProviderError.usageBeforeFailure`),
    /// or after text reached the reader before it did (`countedWith`: the usage counted here):
    /// that usage is charged, priced as a finished answer's, and the generation fails with the
    /// provider's error, a charged failure (its failed attempt is recorded already).
    private func chargeFailure(_ record: GenerationRecord, candidate: GenerationCandidate, usage reported: NormalisedUsage,
                               countedWith: String?, inputAsReported: Bool = false, error: ProviderError,
                               claimsJSON: String) throws -> Step {
        let usage = UsageMapping.pricingUsage(from: reported, provider: candidate.provider, kind: record.kind, files: [])
        let (cost, costStatus, breakdown) = try price(usage, record: record, candidate: candidate)
        var payload = ["code": error.code]
        if let cost { payload["actual_cost"] = StoredJSONWriter.moneyText(cost) }
        try? blobs.delete(scratchOf: record.id)
        return try finish(record, GenerationCompletion(
            status: .failed, provider: candidate.provider, model: candidate.model, cost: cost, costStatus: costStatus,
            providerReportedCost: usage.providerReportedCost, breakdown: breakdown, usage: usage, outputText: nil, assets: [],
            errorCode: error.code,
            errorMessage: error.message + (countedWith.map {
                inputAsReported
                    ? " The usage the provider reported before the failure is charged, its output tokens raised to those counted "
                        + "with \($0) in the text sent, since it billed what it generated."
                    : " The provider reports its usage only at the end of its answer, so the tokens it generated before the failure are "
                        + "charged as counted here (input as admitted, output counted with \($0)), since it billed them."
            } ?? " The usage the provider reported before the failure is charged, since it may have billed it."),
            recordsAttempt: false, providerScopeOnly: ledger.settlesProviderScopeOnly, event: GenerationEvent("failed", payload),
            usageCountedWith: countedWith), claimsJSON: claimsJSON)
    }

    /// The finished generation, attempts and assets included, from the one call that ended it:
    /// kept for whoever waits on it (`lastFinished`), so a `Prefer: wait` answer reads nothing.
    private func finish(_ record: GenerationRecord, _ completion: GenerationCompletion, claimsJSON: String) throws -> Step {
        let id = record.id
        // A canceled generation `finish` does not charge (a batch item holds no project
        // reservation; a failed call's attempt already cleared its in-flight mark) is charged by
        // its own call, never released as free by `stopped`.
        var completion = completion
        completion.answered = answerEarly(record, completion)
        defer { if completion.answered != nil { earlyAnswers?.settled(record) } }
        let ended = try settle(record, completion, claimsJSON: claimsJSON)
        guard let detail = ended else {
            return try stopped(id, claimsJSON)
        }
        finished?(detail)
        return .finished(detail.generation.status)
    }

    /// Offers a succeeded text answer (no files to store) to `earlyAnswers` before it is settled:
    /// the record answered, nil when not offered or not taken.
    private func answerEarly(_ record: GenerationRecord, _ completion: GenerationCompletion) -> GenerationRecord? {
        guard let earlyAnswers, completion.status == .succeeded, completion.assets.isEmpty, record.kind == .text else { return nil }
        let answered = record.settled(by: completion, at: Date())
        return earlyAnswers.answer(GenerationDetail(generation: answered, attempts: [], assets: [])) ? answered : nil
    }

    /// How often a settlement is tried when the database fails, and the pauses between. A settlement
    /// given up leaves the generation to its lease, and whoever takes it over can only end it
    /// `outcome_unknown`, charged the estimate and its outputs dropped: a pool wait that ran out
    /// or a deadlock broken under a burst should not cost the user that (nor an early answer's
    /// stated charge). A settlement that did commit before its answer was lost ends nothing twice:
    /// the next try finds the generation ended.
    static let settlementAttempts = 3
    static let settlementPauses = [0.05, 0.25]

    /// `store.finish` (or, canceled meanwhile, `finishCanceled`), tried up to `settlementAttempts` times.
    private func settle(_ record: GenerationRecord, _ completion: GenerationCompletion, claimsJSON: String) throws -> GenerationDetail? {
        var failures = 0
        while true {
            do {
                return try store.finish(record.id, inProject: record.projectID, completion, claimsJSON: claimsJSON)
                    ?? store.finishCanceled(record.id, completion, claimsJSON: claimsJSON)
            } catch {
                failures += 1
                guard failures < Self.settlementAttempts else { throw error }
                // On a provider queue thread, never an HTTP one, and only after a database error.
                Thread.sleep(forTimeInterval: Self.settlementPauses[min(failures, Self.settlementPauses.count) - 1])
            }
        }
    }

    private func storeOutputs(_ record: GenerationRecord, output: GenerationOutput) throws -> [NewAsset] {
        let assetKind: MediaKind = record.kind == .imageToVideo ? .video : record.kind
        var assets: [NewAsset] = []
        // A chat completion files its text only when asked (OpenAI's `store`); it stays on the generation either way.
        if let text = output.text, record.settings.parameters.chat.map({ $0.store == true }) ?? true {
            assets.append(NewAsset(kind: .text, contentType: "text/plain; charset=utf-8", blob: try blobs.put(Data(text.utf8), owner: record.userID)))
        }
        for file in output.files {
            assets.append(NewAsset(kind: assetKind, contentType: file.mimeType, blob: try blobs.put(fileAt: file.path, owner: record.userID)))
        }
        return assets
    }

    /// Ends a generation the provider billed but whose outputs are gone: failed, with the charge
    /// recorded on it (the ledger was settled already; nothing is released).
    private func endCharged(_ record: GenerationRecord, cost: Money, breakdown: CostBreakdown?, usage: Usage?, code: String,
                            message: String, claimsJSON: String) throws -> Step {
        try? blobs.delete(scratchOf: record.id)
        guard try store.advance(record.id, to: .failed, changes: GenerationChanges(
            errorCode: code, errorMessage: message, actualCost: cost, providerReportedCost: usage?.providerReportedCost,
            costBreakdown: breakdown, usage: usage, submitting: .some(nil), costStatus: breakdown == nil ? "estimated" : "priced"),
                                event: GenerationEvent("failed", ["code": code, "actual_cost": StoredJSONWriter.moneyText(cost)]), claimsJSON: claimsJSON) != nil
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
        else { return try stopped(record.id, claimsJSON) }
        try ledger.release(generation: record.id, claimsJSON: claimsJSON)
        return .finished(status)
    }

    /// Typed throws kept apart from the untyped catch above.
    static func call<T>(_ body: () async throws(ProviderError) -> T) async throws(ProviderError) -> T {
        try await body()
    }
}

extension GenerationRunner {
    /// This runner for a batch's items: they hold only their provider's scope while they run
    /// (`BatchItemReservations`), their batch the rest.
    /// No early answers: a batch item answers nobody directly.
    public var forBatchItems: GenerationRunner {
        GenerationRunner(store: store, ledger: BatchItemReservations(ledger: ledger), blobs: blobs, gate: gate, provider: provider, key: key,
                         pricing: pricing, pollDeadlineSeconds: pollDeadlineSeconds, leaseSeconds: leaseSeconds, tokenCounter: tokenCounter)
    }
}

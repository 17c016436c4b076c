import Foundation

/// `POST /v1/generations/batch` up to the 202: route every item as a single generation is routed,
/// reserve the sum of their estimates as ONE reservation keyed by the batch id, then create the
/// batch and its items (ordinary generations, leased to this process, holding no reservation of
/// their own). All or nothing: an item that cannot run, or a sum the budget cannot hold, refuses
/// the whole batch and nothing is reserved or created.
public struct BatchAdmission: Sendable {
    public static let maximumItems = 100

    public let routing: any GenerationRouting
    public let store: any GenerationStore
    public let batches: any GenerationBatchStore
    public let ledger: any BudgetReservations
    public let leaseOwner: String
    public let leaseSeconds: Int

    public init(routing: any GenerationRouting, store: any GenerationStore, batches: any GenerationBatchStore,
                ledger: any BudgetReservations, leaseOwner: String, leaseSeconds: Int) {
        self.routing = routing
        self.store = store
        self.batches = batches
        self.ledger = ledger
        self.leaseOwner = leaseOwner
        self.leaseSeconds = leaseSeconds
    }

    /// The items are created leased to this process for `itemLeaseSeconds` (at least a single
    /// generation's lease); whoever runs them renews the leases of those waiting their turn.
    public func admit(project projectID: UUID, items: [BatchItemRequest], itemLeaseSeconds: Int,
                      as identity: AuthenticatedIdentity) throws -> (GenerationBatchRecord, [GenerationRecord]) {
        var planned: [(item: BatchItemRequest, plan: GenerationPlan, estimate: Money)] = []
        for (index, item) in items.enumerated() {
            let plan: GenerationPlan
            do {
                plan = try routing.plan(item.quote, as: identity)
            } catch DomainError.validation(let errors) {
                // Named by the item, as the client wrote it: `items[3].parameters.size`.
                throw DomainError.validation(errors.map { FieldError(field: "items[\(index)].\($0.field)", code: $0.code, message: $0.message) })
            }
            guard !plan.candidates.isEmpty else {
                let unpriced = !plan.skipped.isEmpty && plan.skipped.allSatisfy { $0.reasons.contains("unpriced") }
                throw BatchRefusal.item(index: index, .noCandidate(unpriced: unpriced, skipped: plan.skipped))
            }
            // As for a single generation, each item's share covers every candidate it may fall back to.
            let estimate = plan.candidates.map(\.estimate).max() ?? .zero
            planned.append((item, plan, estimate))
        }
        let total = planned.reduce(Money.zero) { $0 + $1.estimate }
        let batchID = UUID()
        // Items may be served by different providers, so the batch holds its total on the project and
        // user scopes; each item holds its provider's monthly budget scope while it runs.
        let outcome = try ledger.reserve(project: projectID, generation: batchID, amount: total, provider: nil, claimsJSON: identity.claimsJSON)
        guard outcome.admitted else {
            let limit = outcome.limit ?? .zero
            throw BatchRefusal.budget(.budgetExceeded(scope: outcome.scope, limit: limit, spent: outcome.spent, reserved: outcome.reserved,
                                                      needed: total, shortfall: outcome.spent + outcome.reserved + total - limit))
        }
        let refs = planned.map { BatchItemRef(generationID: UUID(), idempotencyKey: $0.item.idempotencyKey) }
        do {
            // The batch row first: a crash after it leaves items the batch still accounts for.
            let batch = try batches.createBatch(id: batchID, projectID: projectID, estimate: total, items: refs,
                                                claimsJSON: identity.claimsJSON)
            var records: [GenerationRecord] = []
            for (ref, entry) in zip(refs, planned) {
                let quote = entry.item.quote
                records.append(try store.create(NewGeneration(
                    id: ref.generationID, projectID: projectID, kind: quote.kind, prompt: quote.prompt, settings: entry.item.settings,
                    requestedProvider: quote.provider, requestedModel: quote.model, candidates: entry.plan.candidates,
                    estimate: entry.estimate, maxCost: quote.maxCost, pricingVersion: entry.plan.pricing.id),
                    leaseOwner: leaseOwner, leaseSeconds: max(leaseSeconds, itemLeaseSeconds), claimsJSON: identity.claimsJSON))
            }
            return (batch, records)
        } catch {
            try? ledger.release(generation: batchID, claimsJSON: identity.claimsJSON)
            throw error
        }
    }
}

/// Ends a batch once every item has ended: settles its one reservation with the sum of the
/// items' charges (which releases the rest) and records that on the batch. An item canceled
/// while its provider held billable work has ended only once that work's charge is known. Safe to call
/// from several places at once (the executor, a cancel, a read): the ledger ends a reservation
/// once, and the batch ends once.
public struct BatchSettlement: Sendable {
    public let store: any GenerationStore
    public let batches: any GenerationBatchStore
    public let ledger: any BudgetReservations

    public init(store: any GenerationStore, batches: any GenerationBatchStore, ledger: any BudgetReservations) {
        self.store = store
        self.batches = batches
        self.ledger = ledger
    }

    /// The batch after this call; unchanged while an item is still queued or running.
    @discardableResult
    public func finishIfDone(_ batchID: UUID, claimsJSON: String) throws -> GenerationBatchRecord? {
        guard let batch = try batches.batch(batchID, claimsJSON: claimsJSON) else { return nil }
        guard batch.status == .running else { return batch }
        guard var charged = try charges(of: batch, claimsJSON: claimsJSON) else { return batch }
        if charged.mayAwait {
            // Canceled while its provider held work that may be billed: the batch's charge waits
            // for that item's (whoever ends it calls this again; the leftover sweep after a crash).
            if try batches.itemsAwaitingCharge(batchID, claimsJSON: claimsJSON) { return batch }
            // Its charge (which ends its hold in the same transaction) may have landed after the
            // items were read: read again, now that none awaits one.
            guard let again = try charges(of: batch, claimsJSON: claimsJSON) else { return batch }
            charged = again
        }
        do {
            try ledger.settle(generation: batchID, cost: charged.sum, provider: nil, claimsJSON: claimsJSON)
        } catch {
            // Already ended by a concurrent finisher (or a worker's leftover sweep): the batch
            // still records its end below. Any other failure leaves it running, for a retry.
            guard try batches.reservationEnded(batchID, claimsJSON: claimsJSON) else { throw error }
        }
        return try batches.endBatch(batchID, charged: charged.sum, claimsJSON: claimsJSON) ?? batches.batch(batchID, claimsJSON: claimsJSON)
    }

    /// The sum of the items' charges (succeeded, or failed or canceled after the provider billed
    /// it), and whether an item canceled while its provider held work may still await its charge;
    /// nil while an item is still queued or running.
    private func charges(of batch: GenerationBatchRecord, claimsJSON: String) throws -> (sum: Money, mayAwait: Bool)? {
        var sum = Money.zero
        var mayAwait = false
        for ref in batch.items {
            guard let item = try store.get(ref.generationID, claimsJSON: claimsJSON) else { continue }
            guard item.status.isTerminal else { return nil }
            if let cost = item.actualCost { sum = sum + cost }
            if item.status == .canceled, item.costStatus == nil, item.submitting != nil || item.providerTask != nil { mayAwait = true }
        }
        return (sum, mayAwait)
    }
}

import Foundation

/// Where a batch is: running until every item has ended, then finished (or canceled when
/// cancel-remaining was asked for).
public enum BatchStatus: String, Sendable, Codable, CaseIterable {
    case running, finished, canceled
}

/// One item of a batch: its generation and the client's key for it.
public struct BatchItemRef: Sendable, Codable, Equatable {
    public let generationID: UUID
    public let idempotencyKey: String?

    public init(generationID: UUID, idempotencyKey: String?) {
        self.generationID = generationID
        self.idempotencyKey = idempotencyKey
    }

    enum CodingKeys: String, CodingKey {
        case generationID = "generation_id", idempotencyKey = "idempotency_key"
    }
}

/// A stored batch. Its id is the ledger key of its one reservation.
public struct GenerationBatchRecord: Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public let projectID: UUID
    public let status: BatchStatus
    public let estimate: Money
    public let charged: Money?
    public let items: [BatchItemRef]
    public let cancelRequested: Bool
    public let createdAt: Date
    public let finishedAt: Date?

    public init(id: UUID, userID: UUID, projectID: UUID, status: BatchStatus, estimate: Money, charged: Money?,
                items: [BatchItemRef], cancelRequested: Bool, createdAt: Date, finishedAt: Date?) {
        self.id = id
        self.userID = userID
        self.projectID = projectID
        self.status = status
        self.estimate = estimate
        self.charged = charged
        self.items = items
        self.cancelRequested = cancelRequested
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }
}

/// Where batches live; every call acts as the user whose claims it is given (RLS).
public protocol GenerationBatchStore: Sendable {
    func createBatch(id: UUID, projectID: UUID, estimate: Money, items: [BatchItemRef], claimsJSON: String) throws -> GenerationBatchRecord
    func batch(_ id: UUID, claimsJSON: String) throws -> GenerationBatchRecord?
    /// Nil when the batch already ended (or is not the caller's).
    func requestCancel(_ id: UUID, claimsJSON: String) throws -> GenerationBatchRecord?
    /// Nil when the batch already ended (or is not the caller's).
    func endBatch(_ id: UUID, charged: Money, claimsJSON: String) throws -> GenerationBatchRecord?
    /// Whether the ledger holds the end (charge or release) of the batch's reservation.
    func reservationEnded(_ id: UUID, claimsJSON: String) throws -> Bool
    /// Whether an item canceled while its provider held work that may be billed still awaits what
    /// that work is charged (its provider-scope hold open): the batch cannot settle before it.
    func itemsAwaitingCharge(_ id: UUID, claimsJSON: String) throws -> Bool
    /// The caller's batch that `generation` is an item of, if any.
    func batchID(containing generation: UUID, claimsJSON: String) throws -> UUID?
}

/// One item as the client asked for it.
public struct BatchItemRequest: Sendable {
    public let quote: QuoteRequest
    public let settings: GenerationSettings
    public let idempotencyKey: String?

    public init(quote: QuoteRequest, settings: GenerationSettings, idempotencyKey: String?) {
        self.quote = quote
        self.settings = settings
        self.idempotencyKey = idempotencyKey
    }
}

/// Why a batch was not admitted: nothing of it was.
public enum BatchRefusal: Error, Sendable, Equatable {
    /// Item `index` cannot be admitted on its own (no candidate, unpriced).
    case item(index: Int, AdmissionRefusal)
    /// The sum of the items' estimates does not fit the budget.
    case budget(AdmissionRefusal)
}

/// The items of a batch hold no project or user reservation of their own: the batch's one
/// reservation covers them, and their costs (each item's `actual_cost`) are charged together when
/// the batch ends. Each item does hold its provider's monthly budget scope while it runs
/// (`holdProvider` before every candidate), charged or released when the item ends.
public struct BatchItemReservations: BudgetReservations {
    public let ledger: any BudgetReservations

    public init(ledger: any BudgetReservations) {
        self.ledger = ledger
    }

    public func reserve(project: UUID, generation: UUID, amount: Money, provider: ProviderID?, claimsJSON: String) throws -> ReservationOutcome {
        throw DomainError.conflict(code: "batch_item", detail: "A batch item is covered by its batch's reservation.")
    }

    public func settle(generation: UUID, cost: Money, provider: ProviderID?, claimsJSON: String) throws {
        try ledger.endProviderScope(generation: generation, cost: cost, claimsJSON: claimsJSON)
    }

    public func release(generation: UUID, claimsJSON: String) throws {
        try ledger.endProviderScope(generation: generation, cost: nil, claimsJSON: claimsJSON)
    }

    public func holdProvider(generation: UUID, amount: Money, provider: ProviderID, claimsJSON: String) throws -> ReservationOutcome {
        try ledger.holdProvider(generation: generation, amount: amount, provider: provider, claimsJSON: claimsJSON)
    }

    public func charge(of generation: UUID, claimsJSON: String) throws -> Money? {
        try ledger.charge(of: generation, claimsJSON: claimsJSON)
    }

    public func endProviderScope(generation: UUID, cost: Money?, claimsJSON: String) throws {
        try ledger.endProviderScope(generation: generation, cost: cost, claimsJSON: claimsJSON)
    }

    public var firstProviderHeldAtAdmission: Bool { false }

    public var settlesProviderScopeOnly: Bool { true }
}

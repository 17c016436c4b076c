import Foundation

/// What a new generation is created with; the store adds the owner, status and lease.
public struct NewGeneration: Sendable {
    public let id: UUID
    public let projectID: UUID
    public let kind: MediaKind
    public let prompt: String
    public let settings: GenerationSettings
    public let requestedProvider: ProviderID?
    public let requestedModel: String?
    public let candidates: [GenerationCandidate]
    public let estimate: Money
    public let maxCost: Money?
    public let pricingVersion: String

    public init(id: UUID, projectID: UUID, kind: MediaKind, prompt: String, settings: GenerationSettings,
                requestedProvider: ProviderID?, requestedModel: String?, candidates: [GenerationCandidate], estimate: Money,
                maxCost: Money?, pricingVersion: String) {
        self.id = id
        self.projectID = projectID
        self.kind = kind
        self.prompt = prompt
        self.settings = settings
        self.requestedProvider = requestedProvider
        self.requestedModel = requestedModel
        self.candidates = candidates
        self.estimate = estimate
        self.maxCost = maxCost
        self.pricingVersion = pricingVersion
    }
}

/// Columns a lifecycle step may set. Cost columns are taken only with `succeeded`.
public struct GenerationChanges: Sendable {
    public var provider: ProviderID?
    public var model: String?
    public var providerTask: ProviderTask?
    public var errorCode: String?
    public var errorMessage: String?
    public var outputText: String?
    public var actualCost: Money?
    public var providerReportedCost: Money?
    public var costBreakdown: CostBreakdown?
    public var usage: Usage?
    public var leaseOwner: String?
    public var leaseSeconds: Int?
    public var cancelRequested: Bool?
    /// Marks a submission in flight (`.some(.some)`) or none any more (`.some(nil)`); nil: unchanged.
    public var submitting: InFlightSubmission??
    /// With a cost: `priced`, `unpriced` or `estimated` (see `GenerationRecord.costStatus`).
    public var costStatus: String?
    /// Not a column: the attempt whose answer this change records (a provider task stored after
    /// its submission), reported in the same transaction.
    public var report: AttemptReport?

    public init(provider: ProviderID? = nil, model: String? = nil, providerTask: ProviderTask? = nil, errorCode: String? = nil,
                errorMessage: String? = nil, outputText: String? = nil, actualCost: Money? = nil,
                providerReportedCost: Money? = nil, costBreakdown: CostBreakdown? = nil, usage: Usage? = nil,
                leaseOwner: String? = nil, leaseSeconds: Int? = nil, cancelRequested: Bool? = nil,
                submitting: InFlightSubmission?? = nil, costStatus: String? = nil, report: AttemptReport? = nil) {
        self.provider = provider
        self.model = model
        self.providerTask = providerTask
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.outputText = outputText
        self.actualCost = actualCost
        self.providerReportedCost = providerReportedCost
        self.costBreakdown = costBreakdown
        self.usage = usage
        self.leaseOwner = leaseOwner
        self.leaseSeconds = leaseSeconds
        self.cancelRequested = cancelRequested
        self.submitting = submitting
        self.costStatus = costStatus
        self.report = report
    }
}

/// The end of a provider attempt that answered, written in one call (`GenerationStore.finish`):
/// the charge settled, the attempt, the outputs, the costs and the final state with its event.
public struct GenerationCompletion: Sendable {
    /// `.succeeded`, or `.failed` when the provider billed but the outcome cannot be delivered, or
    /// `.expired` for a provider task past its deadline that the provider may still bill.
    public let status: GenerationStatus
    public let provider: ProviderID
    public let model: String
    /// What is charged; nil: nothing (unpriced and unreported), the reservation is released.
    public let cost: Money?
    public let costStatus: String
    public let providerReportedCost: Money?
    public let breakdown: CostBreakdown?
    public let usage: Usage?
    public let outputText: String?
    public let assets: [NewAsset]
    public let errorCode: String?
    public let errorMessage: String?
    /// Whether the provider answered (an attempt row is written); false for an unknown outcome.
    public let recordsAttempt: Bool
    /// A batch item: only its provider scope is settled (the batch holds the rest).
    public let providerScopeOnly: Bool
    public let event: GenerationEvent
    /// What the attempt taught the router (health, rate limit), written in the same call; nil: nothing.
    public let report: AttemptReport?
    /// Why the provider stopped (its own word: `stop`, `length`, `end_turn`, `max_tokens`, ...).
    public let finishReason: String?
    /// The tokenizer `usage`'s output tokens were counted with here, when the provider reported
    /// none (`GenerationRecord.usageCountedWith`); nil: `usage` is the provider's.
    public let usageCountedWith: String?
    /// The answer sent already (`EarlyAnswers`): the admitted record as this completion settles it,
    /// which the client was told. nil: a caller waits for this settlement. Nobody waits for an
    /// answered one, so a store may hold it briefly to write it with others, and need not read the
    /// generation back (`finish`).
    public var answered: GenerationRecord?
    /// Whether its answer has been sent already (`answered`).
    public var answeredBeforeSettlement: Bool { answered != nil }

    public init(status: GenerationStatus, provider: ProviderID, model: String, cost: Money?, costStatus: String,
                providerReportedCost: Money?, breakdown: CostBreakdown?, usage: Usage?, outputText: String?, assets: [NewAsset],
                errorCode: String?, errorMessage: String?, recordsAttempt: Bool, providerScopeOnly: Bool, event: GenerationEvent,
                report: AttemptReport? = nil, finishReason: String? = nil, usageCountedWith: String? = nil) {
        self.status = status
        self.provider = provider
        self.model = model
        self.cost = cost
        self.costStatus = costStatus
        self.providerReportedCost = providerReportedCost
        self.breakdown = breakdown
        self.usage = usage
        self.outputText = outputText
        self.assets = assets
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.recordsAttempt = recordsAttempt
        self.providerScopeOnly = providerScopeOnly
        self.event = event
        self.report = report
        self.finishReason = finishReason
        self.usageCountedWith = usageCountedWith
    }
}

/// An output stored in the blob store, to be recorded as an asset of its generation.
public struct NewAsset: Sendable {
    public let kind: MediaKind
    public let contentType: String
    public let blob: StoredBlob

    public init(kind: MediaKind, contentType: String, blob: StoredBlob) {
        self.kind = kind
        self.contentType = contentType
        self.blob = blob
    }
}

/// A lifecycle event (`queued`, `started`, `attempt_failed`, `progress`, `succeeded`, `failed`, `canceled`).
public struct GenerationEvent: Sendable {
    public let type: String
    public let payload: [String: String]

    public init(_ type: String, _ payload: [String: String] = [:]) {
        self.type = type
        self.payload = payload
    }
}

/// What an Idempotency-Key holds for a request.
public enum IdempotencyClaim: Sendable, Equatable {
    /// Nobody answered this key yet: go ahead, then `finishIdempotencyKey`.
    case claimed
    /// The same request was answered: give the same answer.
    case replay(status: Int, body: String)
    /// The same request is being answered right now.
    case pending
    /// The key was used with another request.
    case mismatch
}

/// Where generations live. Every call acts as the user whose claims it is given (RLS); only
/// `claimWork` crosses users, for workers.
public protocol GenerationStore: Sendable {
    func create(_ generation: NewGeneration, leaseOwner: String, leaseSeconds: Int, claimsJSON: String) throws -> GenerationRecord
    /// Reserves the estimate on every scope (the provider scope of `provider`) and, admitted,
    /// creates the generation leased to `leaseOwner`, in one atomic call. `start`: this process
    /// runs it at once, so it is created `running` with its first candidate's submission marked
    /// in flight. Refused: nothing is written and the record is nil.
    func admit(_ generation: NewGeneration, reserveOn provider: ProviderID?, start: Bool, leaseOwner: String, leaseSeconds: Int,
               claimsJSON: String) throws -> (outcome: ReservationOutcome, record: GenerationRecord?)
    /// As `admit`, and, with `clearing` (a generation started here), its first attempt cleared in
    /// the same call: the returned record's `firstAttempt` (see `FirstAttemptCheck`).
    func admit(_ generation: NewGeneration, reserveOn provider: ProviderID?, start: Bool, leaseOwner: String, leaseSeconds: Int,
               clearing: FirstAttemptCheck?, claimsJSON: String) throws -> (outcome: ReservationOutcome, record: GenerationRecord?)
    /// Ends an attempt the provider answered (see `GenerationCompletion`) and returns the
    /// generation as it then is, attempts and assets included; for a completion answered already
    /// (`answered`), that answer's record once its status is written, without attempts or assets
    /// (nothing reads them, so the generation is not read back). nil: it is not the caller's or
    /// ended otherwise. Throws `DomainError.conflict("reservation_ended")` when the reservation
    /// had already ended. `projectID` is the generation's project: the ends of one project may be
    /// written together.
    func finish(_ id: UUID, inProject projectID: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws -> GenerationDetail?
    /// Charges a canceled generation what `completion` says when `finish` would not: a batch item
    /// (`providerScopeOnly`) whose provider work may be billed (a submission in flight, a provider
    /// task), on its provider-scope hold, with its outputs; or a generation whose failed call's
    /// usage is charged after its attempt was recorded (no call marked in flight any more), on
    /// every scope. The row records the cost and usage; it stays canceled. nil when it is not such
    /// a generation still awaiting its charge (charged already, or its reservation ended).
    func finishCanceled(_ id: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws -> GenerationDetail?
    /// Records that a canceled generation still awaiting its charge holds no provider work any
    /// more (its task stopped where the provider bills nothing, or its call was never made): its
    /// in-flight mark and task are cleared, so the worker's sweep releases its reservation rather
    /// than charge it as an unknown outcome. For when that release itself failed. False when it
    /// is no such generation.
    func endProviderWork(_ id: UUID, claimsJSON: String) throws -> Bool
    /// Moves the generation to `status` (nil: keeps it) and appends `event`. Nil when the
    /// lifecycle does not allow it (it already ended, or is not this user's).
    func advance(_ id: UUID, to status: GenerationStatus?, changes: GenerationChanges, event: GenerationEvent?,
                 claimsJSON: String) throws -> GenerationRecord?
    /// Records an attempt and, in the same call, its `report`. Throws when the generation is not
    /// the caller's or ended (the report is still recorded).
    func recordAttempt(_ id: UUID, provider: ProviderID, model: String, error: ProviderError?, report: AttemptReport?,
                       claimsJSON: String) throws
    func addAsset(_ id: UUID, kind: MediaKind, contentType: String, blob: StoredBlob, claimsJSON: String) throws -> UUID
    func get(_ id: UUID, claimsJSON: String) throws -> GenerationRecord?
    func detail(_ id: UUID, claimsJSON: String) throws -> GenerationDetail?
    func list(_ filter: GenerationFilter, claimsJSON: String) throws -> GenerationPage
    func asset(_ id: UUID, claimsJSON: String) throws -> AssetRecord?
    func claimIdempotencyKey(_ key: String, requestHash: String, staleAfterSeconds: Int, claimsJSON: String) throws -> IdempotencyClaim
    /// Stores the answer; `status` nil gives the key up so a retry runs again.
    func finishIdempotencyKey(_ key: String, status: Int?, body: String?, claimsJSON: String) throws
    /// Workers: leases up to `limit` queued or expired-lease generations of any user to `owner`
    /// (`FOR UPDATE SKIP LOCKED`); returns their ids, owners, and whether each is a batch item
    /// (no reservation of its own: it holds only its provider's scope while it runs).
    func claimWork(owner: String, leaseSeconds: Int, limit: Int) throws -> [(id: UUID, userID: UUID, batchItem: Bool)]
    /// Workers: reservations a crash left open (any user) — of a generation that ended, or of one
    /// never created (the process died between reserving and creating). `cost` is what the ended
    /// generation is to be charged (nil: release).
    func unendedReservations(limit: Int) throws -> [UnendedReservation]
    /// Workers: when the earliest lease of a queued or running generation (any user) runs out,
    /// so an idle worker wakes then to take it over; nil when none is leased.
    func nextLeaseExpiry() throws -> Date?
    /// Workers: deletes up to `limit` idempotency keys (any user) written more than
    /// `olderThanSeconds` ago, oldest first; returns how many.
    func deleteExpiredIdempotencyKeys(olderThanSeconds: Int, limit: Int) throws -> Int
}

extension GenerationStore {
    /// What an Idempotency-Key holds, for a request waiting on another with the same key: read by
    /// claiming it, and a key nobody held (the first request gave it up) is given back at once, so
    /// the read never takes the key from the client's own retry.
    public func readIdempotencyKey(_ key: String, requestHash: String, staleAfterSeconds: Int, claimsJSON: String) throws -> IdempotencyClaim {
        let claim = try claimIdempotencyKey(key, requestHash: requestHash, staleAfterSeconds: staleAfterSeconds, claimsJSON: claimsJSON)
        if claim == .claimed { try? finishIdempotencyKey(key, status: nil, body: nil, claimsJSON: claimsJSON) }
        return claim
    }
}

public struct UnendedReservation: Sendable, Equatable {
    public let generationID: UUID
    public let userID: UUID
    public let cost: Money?
    /// The provider that served (the one the charge goes to); nil: the one reserved on.
    public let provider: ProviderID?
    /// Only a provider-scope hold (a batch item's, `holdProvider`): ended with `endProviderScope`.
    public let providerScopeOnly: Bool
    /// A generation canceled while the provider held its work, whose process died before the
    /// outcome was recorded: charged as an unknown outcome (`GenerationRunner.endAbandonedCancel`).
    public let outcomeUnknown: Bool

    public init(generationID: UUID, userID: UUID, cost: Money?, provider: ProviderID? = nil, providerScopeOnly: Bool = false,
                outcomeUnknown: Bool = false) {
        self.generationID = generationID
        self.userID = userID
        self.cost = cost
        self.provider = provider
        self.providerScopeOnly = providerScopeOnly
        self.outcomeUnknown = outcomeUnknown
    }
}

extension GenerationStore {
    /// A store that cannot clear the first attempt in admission's call admits without it; the
    /// runner then clears it through the gate and the key lookup, as for any later attempt.
    public func admit(_ generation: NewGeneration, reserveOn provider: ProviderID?, start: Bool, leaseOwner: String, leaseSeconds: Int,
                      clearing: FirstAttemptCheck?, claimsJSON: String) throws -> (outcome: ReservationOutcome, record: GenerationRecord?) {
        try admit(generation, reserveOn: provider, start: start, leaseOwner: leaseOwner, leaseSeconds: leaseSeconds, claimsJSON: claimsJSON)
    }
}

import Domain
import Foundation

/// A generation store that hands every call to `base`: a test double overrides only the calls it
/// changes (a slow read, a refused settlement).
class ForwardingGenerationStore: GenerationStore, @unchecked Sendable {
    let base: any GenerationStore

    init(base: any GenerationStore) {
        self.base = base
    }

    func create(_ generation: NewGeneration, leaseOwner: String, leaseSeconds: Int, claimsJSON: String) throws -> GenerationRecord {
        try base.create(generation, leaseOwner: leaseOwner, leaseSeconds: leaseSeconds, claimsJSON: claimsJSON)
    }
    func admit(_ generation: NewGeneration, reserveOn provider: ProviderID?, start: Bool, leaseOwner: String, leaseSeconds: Int,
               claimsJSON: String) throws -> (outcome: ReservationOutcome, record: GenerationRecord?) {
        try base.admit(generation, reserveOn: provider, start: start, leaseOwner: leaseOwner, leaseSeconds: leaseSeconds, claimsJSON: claimsJSON)
    }
    func finish(_ id: UUID, inProject projectID: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws -> GenerationDetail? {
        try base.finish(id, inProject: projectID, completion, claimsJSON: claimsJSON)
    }
    func finishCanceled(_ id: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws -> GenerationDetail? {
        try base.finishCanceled(id, completion, claimsJSON: claimsJSON)
    }
    func endProviderWork(_ id: UUID, claimsJSON: String) throws -> Bool { try base.endProviderWork(id, claimsJSON: claimsJSON) }
    func advance(_ id: UUID, to status: GenerationStatus?, changes: GenerationChanges, event: GenerationEvent?,
                 claimsJSON: String) throws -> GenerationRecord? {
        try base.advance(id, to: status, changes: changes, event: event, claimsJSON: claimsJSON)
    }
    func recordAttempt(_ id: UUID, provider: ProviderID, model: String, error: ProviderError?, report: AttemptReport?,
                       claimsJSON: String) throws {
        try base.recordAttempt(id, provider: provider, model: model, error: error, report: report, claimsJSON: claimsJSON)
    }
    func addAsset(_ id: UUID, kind: MediaKind, contentType: String, blob: StoredBlob, claimsJSON: String) throws -> UUID {
        try base.addAsset(id, kind: kind, contentType: contentType, blob: blob, claimsJSON: claimsJSON)
    }
    func get(_ id: UUID, claimsJSON: String) throws -> GenerationRecord? { try base.get(id, claimsJSON: claimsJSON) }
    func detail(_ id: UUID, claimsJSON: String) throws -> GenerationDetail? { try base.detail(id, claimsJSON: claimsJSON) }
    func list(_ filter: GenerationFilter, claimsJSON: String) throws -> GenerationPage { try base.list(filter, claimsJSON: claimsJSON) }
    func asset(_ id: UUID, claimsJSON: String) throws -> AssetRecord? { try base.asset(id, claimsJSON: claimsJSON) }
    func claimIdempotencyKey(_ key: String, requestHash: String, staleAfterSeconds: Int, claimsJSON: String) throws -> IdempotencyClaim {
        try base.claimIdempotencyKey(key, requestHash: requestHash, staleAfterSeconds: staleAfterSeconds, claimsJSON: claimsJSON)
    }
    func finishIdempotencyKey(_ key: String, status: Int?, body: String?, claimsJSON: String) throws {
        try base.finishIdempotencyKey(key, status: status, body: body, claimsJSON: claimsJSON)
    }
    func claimWork(owner: String, leaseSeconds: Int, limit: Int) throws -> [(id: UUID, userID: UUID, batchItem: Bool)] {
        try base.claimWork(owner: owner, leaseSeconds: leaseSeconds, limit: limit)
    }
    func unendedReservations(limit: Int) throws -> [UnendedReservation] { try base.unendedReservations(limit: limit) }
    func nextLeaseExpiry() throws -> Date? { try base.nextLeaseExpiry() }
    func deleteExpiredIdempotencyKeys(olderThanSeconds: Int, limit: Int) throws -> Int {
        try base.deleteExpiredIdempotencyKeys(olderThanSeconds: olderThanSeconds, limit: limit)
    }
}

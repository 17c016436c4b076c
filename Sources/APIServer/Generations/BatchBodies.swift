import Domain
import Foundation

/// A batch as the API shows it: its one reservation (`estimate_usd`), what it was charged at the
/// end (`charged_usd`, the sum of the succeeded items' costs), and every item with its generation.
struct BatchBody: Encodable {
    struct Item: Encodable {
        let index: Int
        let idempotencyKey: String?
        let generation: GenerationBody
    }

    struct Counts: Encodable {
        var queued = 0
        var running = 0
        var succeeded = 0
        var failed = 0
        var canceled = 0
        var expired = 0
    }

    let id: String
    let projectId: String
    let status: String
    let estimateUsd: String
    let chargedUsd: String?
    let cancelRequested: Bool
    let counts: Counts
    let items: [Item]
    let createdAt: String
    let finishedAt: String?

    /// `generations` by item, in the batch's order (an item not found is left out).
    init(_ batch: GenerationBatchRecord, generations: [UUID: GenerationBody], statuses: [UUID: GenerationStatus]) {
        id = batch.id.lowercasedString
        projectId = batch.projectID.lowercasedString
        status = batch.status.rawValue
        estimateUsd = batch.estimate.jsonString
        chargedUsd = batch.charged?.jsonString
        cancelRequested = batch.cancelRequested
        var counts = Counts()
        var items: [Item] = []
        for (index, ref) in batch.items.enumerated() {
            guard let generation = generations[ref.generationID] else { continue }
            items.append(Item(index: index, idempotencyKey: ref.idempotencyKey, generation: generation))
            switch statuses[ref.generationID] {
            case .queued: counts.queued += 1
            case .running: counts.running += 1
            case .succeeded: counts.succeeded += 1
            case .failed: counts.failed += 1
            case .canceled: counts.canceled += 1
            case .expired: counts.expired += 1
            case nil: break
            }
        }
        self.counts = counts
        self.items = items
        createdAt = Timestamp.rfc3339(batch.createdAt)
        finishedAt = batch.finishedAt.map(Timestamp.rfc3339)
    }

    init(_ batch: GenerationBatchRecord, records: [GenerationRecord]) {
        self.init(batch, generations: Dictionary(records.map { ($0.id, GenerationBody($0)) }, uniquingKeysWith: { first, _ in first }),
                  statuses: Dictionary(records.map { ($0.id, $0.status) }, uniquingKeysWith: { first, _ in first }))
    }

    init(_ batch: GenerationBatchRecord, details: [GenerationDetail]) {
        self.init(batch, generations: Dictionary(details.map { ($0.generation.id, GenerationBody($0)) }, uniquingKeysWith: { first, _ in first }),
                  statuses: Dictionary(details.map { ($0.generation.id, $0.generation.status) }, uniquingKeysWith: { first, _ in first }))
    }
}

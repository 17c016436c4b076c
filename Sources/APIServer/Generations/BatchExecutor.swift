import Domain
import Foundation
import Synchronization

/// Runs a batch's items on the provider work queue (each step a task on its threads, holding none
/// while a provider call is in flight: `WorkQueueExecutor`) with at most `perProvider` of them in flight
/// per provider credential (the provider of each item's first candidate: the caller's key for
/// it), the rest waiting their turn in request order. When the last item ends, the batch's one
/// reservation is settled with the sum of the succeeded items' costs (BatchSettlement).
final class BatchExecutor: Sendable {
    /// Items of one batch in flight at once on one provider credential.
    static let defaultPerProvider = 4

    let runner: GenerationRunner
    let settlement: BatchSettlement
    let queue: WorkQueue
    let steps: WorkQueueExecutor
    let board: SignalBoard<UUID>
    let logger: Logger
    let perProvider: Int

    init(runner: GenerationRunner, settlement: BatchSettlement, queue: WorkQueue, board: SignalBoard<UUID>, logger: Logger,
         perProvider: Int = BatchExecutor.defaultPerProvider) {
        self.runner = runner
        self.settlement = settlement
        self.queue = queue
        self.steps = WorkQueueExecutor(queue)
        self.board = board
        self.logger = logger
        self.perProvider = max(1, perProvider)
    }

    /// One running batch: the items waiting per lane (provider), how many run per lane, and how
    /// many have not ended yet.
    private final class Run: Sendable {
        struct State {
            var waiting: [String: [UUID]] = [:]
            var running: [String: Int] = [:]
            var remaining: Int
        }

        let batchID: UUID
        let userID: UUID
        let claimsJSON: String
        let state: Mutex<State>

        init(batchID: UUID, userID: UUID, claimsJSON: String, remaining: Int) {
            self.batchID = batchID
            self.userID = userID
            self.claimsJSON = claimsJSON
            self.state = Mutex(State(remaining: remaining))
        }
    }

    static func lane(of item: GenerationRecord) -> String {
        item.candidates.first?.provider.rawValue ?? item.provider?.rawValue ?? "none"
    }

    func start(_ batch: GenerationBatchRecord, items: [GenerationRecord], userID: UUID, claimsJSON: String) {
        let run = Run(batchID: batch.id, userID: userID, claimsJSON: claimsJSON, remaining: items.count)
        guard !items.isEmpty else { finish(run.batchID, claimsJSON: claimsJSON); return }
        let first: [(UUID, String)] = run.state.withLock { state in
            var starting: [(UUID, String)] = []
            for item in items {
                let lane = Self.lane(of: item)
                if state.running[lane, default: 0] < perProvider {
                    state.running[lane, default: 0] += 1
                    starting.append((item.id, lane))
                } else {
                    state.waiting[lane, default: []].append(item.id)
                }
            }
            return starting
        }
        for (id, lane) in first { schedule(id, lane: lane, run: run) }
        renewWaitingLeases(run)
    }

    /// Items waiting their turn stay leased to this process (a step renews the lease of a running
    /// one), so no worker takes one over and runs it past the bound while this process lives; if
    /// it dies, the leases lapse and the workers run the items.
    private func renewWaitingLeases(_ run: Run) {
        let seconds = runner.leaseSeconds
        DispatchQueue.global().asyncAfter(deadline: .now() + Double(max(1, seconds / 3))) { [self] in
            let waiting = run.state.withLock { $0.waiting.values.flatMap { $0 } }
            guard !waiting.isEmpty else { return }
            for id in waiting {
                do {
                    _ = try runner.store.advance(id, to: nil, changes: GenerationChanges(leaseSeconds: seconds), event: nil,
                                                 claimsJSON: run.claimsJSON)
                } catch {
                    logger.warn("renewing a waiting batch item's lease failed", ["generation_id": .string(id.lowercasedString),
                                                                                "error": .string(String(reflecting: error))])
                }
            }
            renewWaitingLeases(run)
        }
    }

    private func schedule(_ id: UUID, lane: String, run: Run, after delay: Double = 0, failures: Int = 0) {
        let enqueue: @Sendable () -> Void = { [self] in
            guard let slot = queue.reserve() else {
                schedule(id, lane: lane, run: run, after: 0.5, failures: failures)
                return
            }
            steps.start(in: slot) { [self] in await step(id, lane: lane, run: run, failures: failures) }
        }
        if delay <= 0 { enqueue() } else { DispatchQueue.global().asyncAfter(deadline: .now() + delay, execute: enqueue) }
    }

    private func step(_ id: UUID, lane: String, run: Run, failures: Int) async {
        do {
            switch try await runner.renewingLease(of: id, claimsJSON: run.claimsJSON, while: {
                try await runner.step(id, userID: run.userID, claimsJSON: run.claimsJSON)
            }) {
            case .finished:
                board.signal(id)
                itemEnded(lane: lane, run: run)
            case .pollAgain(let seconds):
                schedule(id, lane: lane, run: run, after: seconds)
            }
        } catch {
            logger.warn("batch item step failed", ["batch_id": .string(run.batchID.lowercasedString),
                                                   "generation_id": .string(id.lowercasedString),
                                                   "error": .string(String(reflecting: error))])
            if failures < 5 {
                schedule(id, lane: lane, run: run, after: Double(1 << failures), failures: failures + 1)
            } else {
                // Left to the workers (its lease expires); the leftover sweep settles the batch
                // once every item has ended.
                itemEnded(lane: lane, run: run)
            }
        }
    }

    /// Frees the lane's slot for its next waiting item, and ends the batch after its last item.
    private func itemEnded(lane: String, run: Run) {
        let (next, done) = run.state.withLock { state -> (UUID?, Bool) in
            state.remaining -= 1
            if var waiting = state.waiting[lane], !waiting.isEmpty {
                let next = waiting.removeFirst()
                state.waiting[lane] = waiting
                return (next, false)
            }
            state.running[lane, default: 1] -= 1
            return (nil, state.remaining <= 0)
        }
        if let next { schedule(next, lane: lane, run: run) }
        if done { finish(run.batchID, claimsJSON: run.claimsJSON) }
    }

    /// Cancel-remaining's provider call for an item with a provider task, and the charge it leads
    /// to (`GenerationRunner.cancel`), as a task on the provider queue; then the batch ends if that
    /// charge was the last thing it waited for. A failure to record the charge is logged: the
    /// item's hold stays open, and the leftover sweep charges it as an unknown outcome before it
    /// settles the batch.
    func stopAtProvider(_ providerCancel: @escaping @Sendable () async throws -> Void, item: UUID, batchID: UUID, claimsJSON: String) {
        steps.start { [self] in
            do {
                try await providerCancel()
            } catch {
                logger.warn("recording a canceled batch item's charge failed; the leftover sweep charges it",
                            ["batch_id": .string(batchID.lowercasedString), "generation_id": .string(item.lowercasedString),
                             "error": .string(String(reflecting: error))])
            }
            board.signal(item)
            finish(batchID, claimsJSON: claimsJSON)
        }
    }

    /// Settles the batch once every item has ended (a no-op before that).
    func finish(_ batchID: UUID, claimsJSON: String, failures: Int = 0) {
        do {
            if try settlement.finishIfDone(batchID, claimsJSON: claimsJSON)?.status != .running { board.signal(batchID) }
        } catch {
            logger.warn("batch settlement failed", ["batch_id": .string(batchID.lowercasedString),
                                                    "error": .string(String(reflecting: error))])
            // The leftover sweep settles it otherwise.
            if failures < 5 {
                DispatchQueue.global().asyncAfter(deadline: .now() + Double(1 << failures)) { [self] in
                    finish(batchID, claimsJSON: claimsJSON, failures: failures + 1)
                }
            }
        }
    }
}

import Domain
import Persistence
import Foundation
import Synchronization

/// Runs generations on the provider work queue, never on an HTTP thread: each runner step is one
/// task hosted on the queue's threads (`WorkQueueExecutor`), which holds no thread while a
/// provider call is in flight (`CurlMultiLoop`); a pending provider task is polled again by a
/// timer that queues the next step, so a long job holds no thread between polls either. Whoever
/// waits for a generation (`Prefer: wait`) is woken through `board` when it ends.
final class GenerationExecutor: Sendable {
    let runner: GenerationRunner
    let queue: WorkQueue
    /// Where steps run: the queue's threads, released while a step awaits its provider.
    let steps: WorkQueueExecutor
    let board: SignalBoard<UUID>
    let logger: Logger
    /// Woken after every step, since a step may append events that open streams wait for.
    let events: EventStreamHub?
    /// What the runner's last call returned for generations a request waits on.
    let finished: FinishedGenerations
    /// Generations this process is running, with the runner each runs on (a batch item's holds
    /// only its provider's scope), so a worker claim of one whose lease lapsed while it ran here
    /// does not start a second loop for it.
    private let active = Mutex<[UUID: GenerationRunner]>([:])
    /// Set once the process stops (`stop(until:)`): no step starts any more.
    private let stopping = Atomic<Bool>(false)
    /// Steps running now, which a stop waits for.
    private let executing = Atomic<Int>(0)

    init(runner: GenerationRunner, queue: WorkQueue, board: SignalBoard<UUID>, logger: Logger, events: EventStreamHub? = nil,
         finished: FinishedGenerations = FinishedGenerations()) {
        self.finished = finished
        self.runner = runner
        self.queue = queue
        self.steps = WorkQueueExecutor(queue)
        self.board = board
        self.logger = logger
        self.events = events
    }

    /// Claims for background work on a user's behalf: RLS then sees that user, as for a request.
    static func claims(for userID: UUID) -> String {
        #"{"sub":"\#(userID.lowercasedString)","role":"authenticated","aud":"authenticated"}"#
    }

    /// Starts running `id` here unless this process already runs it. `admitted`: the record
    /// admission created for this process to run, handed to the first step so it reads nothing.
    /// `batchItem`: an item of a batch taken over by a worker, run as the batch executor runs its
    /// items (it holds no project reservation of its own, so the main runner's settle would fail).
    func start(_ id: UUID, userID: UUID, claimsJSON: String, admitted: GenerationRecord? = nil, batchItem: Bool = false) {
        let itemRunner = batchItem ? runner.forBatchItems : runner
        guard active.withLock({ running in
            guard running[id] == nil else { return false }
            running[id] = itemRunner
            return true
        }) else { return }
        schedule(id, userID: userID, claimsJSON: claimsJSON, admitted: admitted)
    }

    /// Queues the next step of `id` after `delay` seconds. With the queue full it tries again a
    /// little later; the lease keeps other workers off meanwhile, and if this process dies the
    /// lease expires and a worker takes the generation over.
    private func schedule(_ id: UUID, userID: UUID, claimsJSON: String, after delay: Double = 0, failures: Int = 0,
                          admitted: GenerationRecord? = nil, queuedSince: Date = Date()) {
        let enqueue: @Sendable () -> Void = { [self] in
            // Counted before the stop is looked at, and from its slot on until the step ends: a stop
            // either is seen here (and waits for the hand-over) or sees this step and waits for it.
            executing.add(1, ordering: .sequentiallyConsistent)
            guard !stopping.load(ordering: .sequentiallyConsistent) else {
                handOver(id, claimsJSON: claimsJSON, unsent: admitted != nil)
                executing.subtract(1, ordering: .sequentiallyConsistent)
                return
            }
            guard let slot = queue.reserve() else {
                executing.subtract(1, ordering: .sequentiallyConsistent)
                // Waiting for a slot renews the lease too: a generation admitted with its
                // submission marked in flight must not look abandoned to a worker meanwhile.
                var since = queuedSince
                if Date().timeIntervalSince(since) >= Double(runner.leaseSeconds) / 3 {
                    _ = try? runner.store.advance(id, to: nil, changes: GenerationChanges(leaseSeconds: runner.leaseSeconds), event: nil,
                                                  claimsJSON: claimsJSON)
                    since = Date()
                }
                schedule(id, userID: userID, claimsJSON: claimsJSON, after: 0.5, failures: failures, admitted: admitted, queuedSince: since)
                return
            }
            steps.start(in: slot) { [self] in
                defer { executing.subtract(1, ordering: .sequentiallyConsistent) }
                await step(id, userID: userID, claimsJSON: claimsJSON, failures: failures, admitted: admitted)
            }
        }
        if delay <= 0 { enqueue() } else { DispatchQueue.global().asyncAfter(deadline: .now() + delay, execute: enqueue) }
    }

    private func step(_ id: UUID, userID: UUID, claimsJSON: String, failures: Int, admitted: GenerationRecord?) async {
        defer { events?.notify(user: userID) }
        guard !stopping.load(ordering: .sequentiallyConsistent) else {
            handOver(id, claimsJSON: claimsJSON, unsent: admitted != nil)
            return
        }
        let runner = active.withLock { $0[id] } ?? self.runner
        do {
            // The executor's runner renews the lease, whichever runner this step uses.
            switch try await self.runner.renewingLease(of: id, claimsJSON: claimsJSON, while: {
                try await runner.step(id, userID: userID, claimsJSON: claimsJSON, admitted: admitted)
            }) {
            case .finished:
                active.withLock { _ = $0.removeValue(forKey: id) }
                board.signal(id)
            case .pollAgain(let seconds):
                schedule(id, userID: userID, claimsJSON: claimsJSON, after: seconds)
            }
        } catch {
            // The database failed us, not the provider: try again a few times, then leave it to
            // the workers (the lease expires).
            logger.warn("generation step failed", ["generation_id": .string(id.lowercasedString),
                                                   "error": .string(String(reflecting: error))])
            if failures < 5 {
                schedule(id, userID: userID, claimsJSON: claimsJSON, after: Double(1 << failures), failures: failures + 1)
            } else {
                active.withLock { _ = $0.removeValue(forKey: id) }
                // Given up here: the lease ends now, which notifies the workers (migration 082).
                _ = try? runner.store.advance(id, to: nil, changes: GenerationChanges(leaseSeconds: 0), event: nil, claimsJSON: claimsJSON)
            }
        }
    }

    /// The process is stopping: no step starts from now on (each one due is handed over, below).
    /// Set as the stop begins, so nothing is sent to a provider during the grace that the closing
    /// pool could not settle.
    func beginStopping() {
        stopping.store(true, ordering: .sequentiallyConsistent)
    }

    /// Stops (if not already) and waits until the steps running or about to start end, or
    /// `deadline` passes. Returns how many are still running.
    @discardableResult
    func stop(until deadline: Date) -> Int {
        beginStopping()
        while executing.load(ordering: .sequentiallyConsistent) > 0 && Date() < deadline { usleep(10_000) }
        return executing.load(ordering: .sequentiallyConsistent)
    }

    var isStopping: Bool { stopping.load(ordering: .sequentiallyConsistent) }

    /// A step due while the process stops is left to another process at once: its lease ends now
    /// (which wakes the workers, migration 082). `unsent`: its first step never ran, so the
    /// submission admission marked in flight was never sent, and is cleared; a takeover then sends
    /// it, where it would otherwise have to end it `outcome_unknown`, charged the estimate.
    private func handOver(_ id: UUID, claimsJSON: String, unsent: Bool) {
        active.withLock { _ = $0.removeValue(forKey: id) }
        _ = try? runner.store.advance(id, to: nil, changes: GenerationChanges(leaseSeconds: 0, submitting: unsent ? .some(nil) : nil),
                                      event: nil, claimsJSON: claimsJSON)
    }

    /// Runs a cancel's provider call and the charge it leads to (`GenerationRunner.cancel`) as a
    /// task on the provider queue, off the caller's thread. A failure to record that charge is
    /// logged: the reservation stays open and the worker's sweep charges it as an unknown outcome.
    func stopAtProvider(_ providerCancel: @escaping @Sendable () async throws -> Void, generation id: UUID, userID: UUID) {
        steps.start { [self] in
            do {
                // Its lease renewed meanwhile (migration 190): a download that outlasts it must not
                // be taken for an abandoned cancel and charged the estimate by the sweep.
                try await runner.renewingLease(of: id, claimsJSON: Self.claims(for: userID), while: providerCancel)
            } catch {
                logger.warn("recording a canceled provider task's charge failed; the leftover sweep charges it",
                            ["generation_id": .string(id.lowercasedString), "error": .string(String(reflecting: error))])
            }
            board.signal(id)
            events?.notify(user: userID)
        }
    }
}

/// The worker loop (`apiserver worker`, and inside `serve`): claims queued and expired-lease
/// generations with `FOR UPDATE SKIP LOCKED` and runs them like freshly admitted ones. Idle, it
/// sleeps on `LISTEN generation_work` (migration 082) until a generation becomes claimable, the
/// earliest known lease runs out, or the fallback timer fires (also the only clock without a
/// listener, or while its connection is down).
final class GenerationWorker: Sendable {
    let store: any GenerationStore
    let executor: GenerationExecutor
    let owner: String
    let leaseSeconds: Int
    let intervalSeconds: Double
    let listener: GenerationWorkListener?
    /// Failing providers re-tested with the free key check, every `retestSeconds`.
    let retest: ProviderRetest?
    static let claimLimit = 16
    static let retestSeconds = 30.0

    init(store: any GenerationStore, executor: GenerationExecutor, owner: String, leaseSeconds: Int, intervalSeconds: Double,
         listener: GenerationWorkListener? = nil, retest: ProviderRetest? = nil) {
        self.retest = retest
        self.store = store
        self.executor = executor
        self.owner = owner
        self.leaseSeconds = leaseSeconds
        self.intervalSeconds = intervalSeconds
        self.listener = listener
    }

    /// Claims one batch and schedules it; returns how many were claimed.
    @discardableResult
    func claimOnce(limit: Int = GenerationWorker.claimLimit) -> Int {
        // A stopping process takes nothing more: what it claimed it would only hand back.
        guard !stopped.load(ordering: .acquiring), !executor.isStopping else { return 0 }
        do {
            let claimed = try store.claimWork(owner: owner, leaseSeconds: leaseSeconds, limit: limit)
            for work in claimed {
                executor.start(work.id, userID: work.userID, claimsJSON: GenerationExecutor.claims(for: work.userID), batchItem: work.batchItem)
            }
            return claimed.count
        } catch {
            executor.logger.warn("claiming generations failed", ["error": .string(String(reflecting: error))])
            return 0
        }
    }

    /// Ends the reservations a crash left open: settles an ended generation's charge, releases
    /// the rest, each as its owner. Returns how many it ended.
    @discardableResult
    func endLeftoverReservations(limit: Int = 50) -> Int {
        do {
            var ended = 0
            for leftover in try store.unendedReservations(limit: limit) {
                let claims = GenerationExecutor.claims(for: leftover.userID)
                do {
                    if leftover.outcomeUnknown {
                        // A batch item holds only its provider's scope: ended by the item runner's ledger.
                        let runner = leftover.providerScopeOnly ? executor.runner.forBatchItems : executor.runner
                        try runner.endAbandonedCancel(leftover.generationID, claimsJSON: claims)
                    } else if leftover.providerScopeOnly {
                        try executor.runner.ledger.endProviderScope(generation: leftover.generationID, cost: leftover.cost, claimsJSON: claims)
                    } else if let cost = leftover.cost {
                        try executor.runner.ledger.settle(generation: leftover.generationID, cost: cost, provider: leftover.provider, claimsJSON: claims)
                    } else {
                        try executor.runner.ledger.release(generation: leftover.generationID, claimsJSON: claims)
                    }
                    ended += 1
                } catch {
                    // Another worker ended it first, or the project is gone: nothing is left to end.
                    executor.logger.debug("leftover reservation not ended", ["generation_id": .string(leftover.generationID.lowercasedString),
                                                                            "error": .string(String(reflecting: error))])
                }
            }
            return ended
        } catch {
            executor.logger.warn("finding leftover reservations failed", ["error": .string(String(reflecting: error))])
            return 0
        }
    }

    /// Idempotency keys are kept a day (a retry after that is a new request); older ones go, a
    /// thousand per statement and at most ten thousand per sweep, so one sweep stays short.
    static let idempotencyKeySeconds = 24 * 3600

    @discardableResult
    func deleteExpiredIdempotencyKeys() -> Int {
        var deleted = 0
        do {
            for _ in 0..<10 {
                let batch = try store.deleteExpiredIdempotencyKeys(olderThanSeconds: Self.idempotencyKeySeconds, limit: 1000)
                deleted += batch
                if batch < 1000 { break }
            }
        } catch {
            executor.logger.warn("deleting expired idempotency keys failed", ["error": .string(String(reflecting: error))])
        }
        return deleted
    }

    private let stopped = Atomic<Bool>(false)

    /// Claims nothing more (the process is stopping); sweeps go on until it ends.
    func stopClaiming() {
        stopped.store(true, ordering: .releasing)
    }

    /// Runs on a thread of its own until the process ends.
    func start() {
        let thread = Thread { [self] in
            var lastSweep = Date.distantPast
            var lastRetest = Date.distantPast
            while true {
                if Date().timeIntervalSince(lastSweep) >= 60 {
                    endLeftoverReservations()
                    deleteExpiredIdempotencyKeys()
                    lastSweep = Date()
                }
                if let retest, Date().timeIntervalSince(lastRetest) >= Self.retestSeconds {
                    retest.runOnce()
                    lastRetest = Date()
                }
                // A full claim may have left more behind: claim again at once.
                if claimOnce() >= Self.claimLimit { continue }
                idle(seconds: nextWake())
            }
        }
        thread.name = "generation-worker"
        thread.start()
    }

    /// Until the earliest lease runs out (a little after), at most the fallback interval.
    private func nextWake() -> Double {
        guard let expiry = try? store.nextLeaseExpiry() else { return intervalSeconds }
        return min(intervalSeconds, max(0.05, expiry.timeIntervalSinceNow + 0.05))
    }

    private func idle(seconds: Double) {
        guard let listener else {
            Thread.sleep(forTimeInterval: seconds)
            return
        }
        do {
            _ = try listener.wait(seconds: seconds)
        } catch {
            executor.logger.warn("LISTEN connection failed; polling until it is back", ["error": .string(String(reflecting: error))])
            Thread.sleep(forTimeInterval: seconds)
        }
    }
}

import Foundation

/// Hosts Swift tasks on a `WorkQueue`'s threads: a task started with this executor preference
/// runs its synchronous stretches (libpq calls, JSON, files) on the queue's threads, never on
/// Swift's small cooperative pool, and gives its thread back at every suspension (a provider
/// call in flight on `CurlMultiLoop`, a retry's wait). So a generation waiting for a provider
/// holds no thread, and the queue's threads serve whichever steps have work to do.
final class WorkQueueExecutor: TaskExecutor {
    let queue: WorkQueue

    init(_ queue: WorkQueue) {
        self.queue = queue
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.runAdmitted { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }
    }

    /// Runs `operation` as a task on the queue's threads.
    func start(_ operation: @escaping @Sendable () async -> Void) {
        Task(executorPreference: self) { await operation() }
    }

    /// Runs `operation` as a task on the queue's threads, in the room `slot` reserved. The task's
    /// first job is queued by its creation here, so no queue thread is woken just to create it.
    func start(in slot: WorkQueue.Reservation, _ operation: @escaping @Sendable () async -> Void) {
        Task(executorPreference: self) { await operation() }
        slot.cancel()
    }
}

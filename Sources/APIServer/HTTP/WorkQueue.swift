import Foundation

/// A fixed number of threads of its own and a bounded queue, for work that must not run on an
/// HTTP thread (provider calls through libcurl). Work is admitted in two steps, `reserve` then
/// `run`, so the transport can suspend the connection in between and be sure the work will
/// start: a full queue is refused before anything is suspended.
///
/// Threads start when first needed and then stay, waiting on a condition variable.
final class WorkQueue: @unchecked Sendable {
    let name: String
    let threadCount: Int
    /// Jobs that may wait for a free thread; beyond it `reserve` refuses.
    let queueLimit: Int

    // All below is guarded by `condition`.
    private let condition = NSCondition()
    private var jobs = JobRing()
    private var reserved = 0
    private var running = 0
    private var threadsStarted = 0
    private var idleThreads = 0
    private var refusedTotal = 0

    init(name: String, threads: Int, queueLimit: Int) {
        self.name = name
        self.threadCount = max(1, threads)
        self.queueLimit = max(0, queueLimit)
    }

    /// A promise of room for one job. Exactly one of `run` or `cancel` must follow.
    struct Reservation: Sendable {
        fileprivate let queue: WorkQueue

        func run(_ job: @escaping @Sendable () -> Void) { queue.enqueue(job) }
        func cancel() { queue.release() }
    }

    /// Room for one more job, or nil when every thread is busy and the queue is full.
    func reserve() -> Reservation? {
        condition.lock()
        defer { condition.unlock() }
        guard reserved + jobs.count + running < threadCount + queueLimit else {
            refusedTotal += 1
            return nil
        }
        reserved += 1
        return Reservation(queue: self)
    }

    /// A job of work admitted earlier: a generation step resuming after a provider call
    /// (`WorkQueueExecutor`). It is never refused, since refusing would strand a suspended task;
    /// the steps admitted through `reserve` bound how many there are.
    func runAdmitted(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        reserved += 1
        condition.unlock()
        enqueue(job)
    }

    /// Whether at least half the threads are idle (none of them may have started yet): a settlement
    /// may then hold one a little longer to be written with others (`PendingFinish.gatheredAtMost`).
    var hasIdleHalf: Bool {
        condition.lock()
        defer { condition.unlock() }
        return running + jobs.count <= threadCount / 2
    }

    /// Jobs running, jobs waiting (reserved ones included) and jobs refused so far, for /metrics.
    var statistics: (running: Int, waiting: Int, refused: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (running, jobs.count + reserved, refusedTotal)
    }

    private func enqueue(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        reserved -= 1
        jobs.push(job)
        let startThread = idleThreads == 0 && threadsStarted < threadCount
        if startThread { threadsStarted += 1 }
        let number = threadsStarted
        condition.unlock()
        // After the unlock: a thread woken while the lock is held would wake only to wait for it.
        condition.signal()
        if startThread {
            let thread = Thread { [self] in work() }
            thread.name = "\(name)-\(number)"
            thread.start()
        }
    }

    private func release() {
        condition.lock()
        reserved -= 1
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            idleThreads += 1
            while jobs.isEmpty { condition.wait() }
            idleThreads -= 1
            let job = jobs.pop()
            running += 1
            condition.unlock()
            job?()
            condition.lock()
            running -= 1
            condition.unlock()
        }
    }
}

/// A first-in first-out ring of jobs: O(1) push and pop, growing only when full.
private struct JobRing {
    private var slots: [(@Sendable () -> Void)?] = Array(repeating: nil, count: 16)
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func push(_ job: @escaping @Sendable () -> Void) {
        if count == slots.count {
            let ordered = (0..<count).map { slots[(head + $0) % slots.count] }
            slots = ordered + Array(repeating: nil, count: ordered.count)
            head = 0
        }
        slots[(head + count) % slots.count] = job
        count += 1
    }

    mutating func pop() -> (@Sendable () -> Void)? {
        guard count > 0 else { return nil }
        let job = slots[head]
        slots[head] = nil
        head = (head + 1) % slots.count
        count -= 1
        return job
    }
}

extension Problem {
    /// The provider executor is full: every thread busy and its queue at the limit.
    static func busy(retryAfterSeconds: Int) -> Problem {
        Problem(status: 503, code: "busy", title: "Service Unavailable",
                detail: "Too many provider calls are in progress; retry in \(retryAfterSeconds) s.",
                headers: [("Retry-After", String(retryAfterSeconds))])
    }
}

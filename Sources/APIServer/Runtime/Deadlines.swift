import Domain
import Foundation
import Synchronization

/// Many deadlines on one thread of its own. Each awaited answer and each running generation step
/// wants a timer (the answer's deadline, the step's lease heartbeat); a Dispatch timer or
/// `asyncAfter` per request costs wake-ups of Dispatch's manager thread to arm it and again to
/// cancel it, which at one connection was about a seventh of the server's CPU per generation.
/// Here scheduling and cancelling a deadline take a lock and a heap operation. The thread sleeps
/// until the earliest deadline, at most `longestSleep`, and is woken early only for a deadline
/// sooner than its planned wake-up, which the seconds-to-minutes deadlines of requests never are.
///
/// An action runs on a Dispatch worker (it may read or write the database), never on this thread.
final class Deadlines: @unchecked Sendable {
    /// One per process: every server and executor in it shares the thread.
    static let shared = Deadlines()

    struct Token: Hashable, Sendable {
        fileprivate let number: UInt64
    }

    /// Ordered by due time (then by scheduling, so equal times run in the order they were asked for).
    private struct Entry: Comparable {
        let due: UInt64
        let number: UInt64

        static func < (left: Entry, right: Entry) -> Bool { (left.due, left.number) < (right.due, right.number) }
    }

    /// How long the thread sleeps without a deadline before it looks again.
    private let longestSleep: UInt64

    // All below is guarded by `condition`.
    private let condition = NSCondition()
    private var heap = MinHeap<Entry>()
    private var actions: [UInt64: @Sendable () -> Void] = [:]
    private var nextNumber: UInt64 = 0
    private var plannedWake: UInt64 = .max
    private var started = false

    init(longestSleepSeconds: Double = 1) {
        longestSleep = UInt64(min(max(longestSleepSeconds, 0.001), 3600) * 1_000_000_000)
    }

    /// Runs `action` after `seconds` (clamped to 0 ... one year) unless cancelled first.
    @discardableResult
    func schedule(after seconds: Double, _ action: @escaping @Sendable () -> Void) -> Token {
        let bounded = seconds.isFinite ? min(max(seconds, 0), 31_536_000) : 0
        let due = DispatchTime.now().uptimeNanoseconds &+ UInt64(bounded * 1_000_000_000)
        condition.lock()
        defer { condition.unlock() }
        nextNumber += 1
        let number = nextNumber
        actions[number] = action
        heap.push(Entry(due: due, number: number))
        if !started {
            started = true
            let thread = Thread { [self] in run() }
            thread.name = "deadlines"
            thread.start()
        } else if due < plannedWake {
            condition.signal()
        }
        return Token(number: number)
    }

    /// The action will not run (unless it already started). Cancelling twice is harmless.
    func cancel(_ token: Token) {
        condition.lock()
        defer { condition.unlock() }
        actions[token.number] = nil
        // Cancelled entries leave the heap when they come due; rebuild it when they outnumber the
        // live ones, so a busy minute of long deadlines cancelled early does not pile up.
        if heap.count > 64, heap.count > 2 * actions.count {
            heap.removeAll { actions[$0.number] == nil }
        }
    }

    /// Deadlines not yet run or cancelled, and the heap's entries (cancelled ones included).
    var counts: (pending: Int, queued: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (actions.count, heap.count)
    }

    private func run() {
        condition.lock()
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            var due: [@Sendable () -> Void] = []
            while let first = heap.first, first.due <= now {
                _ = heap.popMin()
                if let action = actions.removeValue(forKey: first.number) { due.append(action) }
            }
            if !due.isEmpty {
                condition.unlock()
                for action in due { DispatchQueue.global().async(execute: action) }
                condition.lock()
                continue
            }
            let wake = min(heap.first?.due ?? .max, now &+ longestSleep)
            plannedWake = wake
            let seconds = Double(wake - now) / 1_000_000_000
            _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
            plannedWake = .max
        }
    }
}

/// An action every `interval` seconds on `Deadlines` until `stop`: a running step's lease
/// heartbeat, without a Dispatch timer created and cancelled for every step.
final class RepeatingDeadline: Sendable {
    private let state = Mutex<(token: Deadlines.Token?, stopped: Bool)>((nil, false))
    private let interval: Double
    private let action: @Sendable () -> Void
    private let deadlines: Deadlines

    init(every interval: Double, on deadlines: Deadlines = .shared, _ action: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.action = action
        self.deadlines = deadlines
        arm()
    }

    func stop() {
        let token = state.withLock { state -> Deadlines.Token? in
            state.stopped = true
            defer { state.token = nil }
            return state.token
        }
        if let token { deadlines.cancel(token) }
    }

    private func arm() {
        state.withLock { current in
            guard !current.stopped else { return }
            current.token = deadlines.schedule(after: interval) { [self] in
                guard !state.withLock({ $0.stopped }) else { return }
                action()
                arm()
            }
        }
    }
}

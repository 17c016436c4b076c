import Foundation

/// Work that shares a key runs in groups, one group of a key at a time. The first request of a key
/// that finds none of its key running becomes the writer: it takes every request of that key waiting
/// then (at most `limit`, its own first) and runs them together on its own thread; the others wait for
/// their answers. When that run ends, the request that has waited longest becomes the next writer and
/// takes the ones that arrived meanwhile. So one project's admissions share a transaction instead of
/// each queueing for the project's row in the database, and a lone request runs at once, alone.
///
/// `run` answers every item it is given, in order; an item it leaves unanswered fails with
/// `GroupCommitError.unanswered`. It runs on the calling thread of the writer, with no lock held.
/// A request still queued after `queueTimeout` is never run and gets the error a caller that found no
/// pooled connection gets (`DatabaseError` at step `.acquire`: 503 `database_unavailable` at the API);
/// one a writer has taken waits for its answer, since its work may already be written.
///
/// With `gathering`, a leader whose work nobody waits for (`mayGather`: a settlement whose answer
/// has been sent) and that finds fewer than `gathering.enough` requests of its key queued waits up
/// to `gathering.longest` for more before it runs, so that at low load its key's work still runs in
/// groups. It stops waiting once enough are queued, when a request that may not wait joins, or on
/// `hurry()`. Each queued request holds its caller's thread, so only one key gathers at a time.
/// With `gathering.more`, it goes on past `enough`, up to `more`, for as long as `gathering.roomForMore`
/// says the threads it holds are not missed (the settlements' provider threads at low load).
final class GroupCommit<Key: Hashable & Sendable, Item, Answer>: @unchecked Sendable {
    private final class Waiter {
        let item: Item
        let mayGather: Bool
        var answer: Result<Answer, any Error>?
        var leads = false
        var taken = false
        /// Signaled when this request's state changes (answered, made the writer, or, gathering,
        /// joined by company or hurried): only the requests concerned wake, not every waiting thread.
        let wake = DispatchSemaphore(value: 0)

        init(_ item: Item, mayGather: Bool) {
            self.item = item
            self.mayGather = mayGather
        }
    }

    /// How long a leader that may wait gathers company, and how many queued (itself included) are enough.
    struct Gathering: Sendable {
        let longest: TimeInterval
        let enough: Int
        /// How many it may wait for while `roomForMore` holds (at most `limit`); `enough` without it.
        var more: Int = 0
        var roomForMore: (@Sendable () -> Bool)?
    }

    let limit: Int
    let queueTimeout: TimeInterval
    let gathering: Gathering?
    private let lock = NSLock()
    // Every waiting request of a key, oldest first; a key is present while one of its groups runs.
    private var waiting: [Key: [Waiter]] = [:]
    private var largest = 0
    // The leader gathering now, if any, with its key, and when `hurry` was last called.
    private var gatheringKey: Key?
    private var gatheringLeader: Waiter?
    private var hurriedAt = Date.distantPast

    /// The most requests one group has run together so far.
    var largestGroup: Int {
        lock.withLock { largest }
    }

    /// Whether the leader of `key` is gathering company now.
    func isGathering(_ key: Key) -> Bool {
        lock.withLock { gatheringKey == key }
    }

    /// How many requests of `key` wait now (its running group's excluded).
    func waitingCount(_ key: Key) -> Int {
        lock.withLock { waiting[key]?.filter { $0.answer == nil && !$0.leads }.count ?? 0 }
    }

    init(limit: Int, queueTimeout: TimeInterval, gathering: Gathering? = nil) {
        self.limit = max(1, limit)
        self.queueTimeout = queueTimeout
        self.gathering = gathering.map {
            let enough = min(max(1, $0.enough), max(1, limit))
            return Gathering(longest: max(0, $0.longest), enough: enough, more: min(max(enough, $0.more), max(1, limit)),
                             roomForMore: $0.roomForMore)
        }
    }

    /// Ends a gathering leader's wait now (someone is about to wait for its work), and keeps one
    /// from starting for the next `gathering.longest`: the work waited for may not have reached
    /// `submit` yet.
    func hurry() {
        let leader = lock.withLock {
            hurriedAt = Date()
            return gatheringLeader
        }
        leader?.wake.signal()
    }

    func submit(_ item: Item, key: Key, mayGather: Bool = false, run: ([Item]) -> [Result<Answer, any Error>]) throws -> Answer {
        let waiter = Waiter(item, mayGather: mayGather)
        let deadline = DispatchTime.now() + queueTimeout
        lock.lock()
        if waiting[key] == nil {
            waiter.leads = true
            waiting[key] = [waiter]
        } else {
            waiting[key, default: []].append(waiter)
            // The gathering leader counts its company, and stops for one that may not wait.
            if gatheringKey == key { gatheringLeader?.wake.signal() }
        }
        while waiter.answer == nil && !waiter.leads {
            let taken = waiter.taken
            lock.unlock()
            if taken {
                waiter.wake.wait()
            } else if waiter.wake.wait(timeout: deadline) == .timedOut {
                lock.lock()
                if waiter.answer == nil, !waiter.leads, !waiter.taken {
                    waiting[key]?.removeAll { $0 === waiter }
                    lock.unlock()
                    throw DatabaseError(step: .acquire, sqlState: nil, serverMessage: "no turn at the writer within \(queueTimeout) s")
                }
                continue
            }
            lock.lock()
        }
        let leads = waiter.answer == nil
        var woken: [Waiter] = []
        if leads {
            gather(key: key, leader: waiter)
            woken = lead(key: key, run: run)
        }
        let answer = waiter.answer
        lock.unlock()
        // After the unlock: the group's members and the next leader wake to a free lock.
        for other in woken where other !== waiter { other.wake.signal() }
        guard let answer else { throw GroupCommitError.unanswered }
        return try answer.get()
    }

    /// With the lock held: a leader that may wait, alone among the keys in gathering, waits for
    /// company (see the type's note). The lock is released while it waits.
    private func gather(key: Key, leader: Waiter) {
        guard let gathering, gathering.longest > 0, leader.mayGather, gatheringKey == nil,
              Date().timeIntervalSince(hurriedAt) >= gathering.longest else { return }
        let hurried = hurriedAt
        let deadline = DispatchTime.now() + gathering.longest
        gatheringKey = key
        gatheringLeader = leader
        defer {
            gatheringKey = nil
            gatheringLeader = nil
        }
        while hurriedAt == hurried, let queue = waiting[key], queue.allSatisfy(\.mayGather),
              queue.count < gathering.enough || queue.count < gathering.more && gathering.roomForMore?() == true {
            lock.unlock()
            let timedOut = leader.wake.wait(timeout: deadline) == .timedOut
            lock.lock()
            if timedOut { return }
        }
    }

    /// With the lock held: takes this key's oldest waiting requests (the leader's own first), runs them
    /// without the lock, answers them, and makes the oldest request still waiting the key's next
    /// writer. Returns the requests to wake (the group and that writer), which the caller signals
    /// once it has unlocked.
    private func lead(key: Key, run: ([Item]) -> [Result<Answer, any Error>]) -> [Waiter] {
        let queue = waiting[key] ?? []
        let group = Array(queue.prefix(limit))
        waiting[key] = Array(queue.dropFirst(group.count))
        for member in group { member.taken = true }
        largest = max(largest, group.count)
        lock.unlock()
        let answers = run(group.map(\.item))
        lock.lock()
        for (index, member) in group.enumerated() {
            member.answer = index < answers.count ? answers[index] : .failure(GroupCommitError.unanswered)
        }
        guard let next = waiting[key]?.first else {
            waiting[key] = nil
            return group
        }
        next.leads = true
        return group + [next]
    }
}

enum GroupCommitError: Error, Equatable {
    /// The group's run returned fewer answers than it was given items.
    case unanswered
}

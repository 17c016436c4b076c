import Foundation

/// The settlements of answers already sent (`EarlyAnswers`), by user, so that user's next reads
/// see them: a read waits until every settlement that was in flight when it arrived is written,
/// at most `longestWait`. Settlements started after the read arrived are not waited for, so a
/// user with a steady stream of completions never holds a read up for longer than one settlement.
///
/// Within this process only: a read served by another instance in the millisecond or two after
/// an answer can show the generation still running and its reservation still held.
final class SettlementsInFlight: @unchecked Sendable {
    /// Past this a read goes ahead unsettled: a settlement's own retries end well within it.
    static let longestWait = 2.0

    // All below is guarded by `condition`.
    private let condition = NSCondition()
    private var nextTicket: UInt64 = 0
    /// Tickets of settlements in flight, by user; a user with none has no entry.
    private var pending: [UUID: Set<UInt64>] = [:]
    private var ticketsByGeneration: [UUID: UInt64] = [:]
    /// Asks the store to write the settlements it holds back now (`SETTLEMENT_GATHER_MS`).
    private let hurry: @Sendable () -> Void

    init(hurry: @escaping @Sendable () -> Void = {}) {
        self.hurry = hurry
    }

    /// An answer for `generation` of `user` went out before its settlement.
    func begin(_ generation: UUID, user: UUID) {
        condition.lock()
        defer { condition.unlock() }
        nextTicket += 1
        ticketsByGeneration[generation] = nextTicket
        pending[user, default: []].insert(nextTicket)
    }

    /// The settlement of `generation` was written (or given up).
    func end(_ generation: UUID, user: UUID) {
        condition.lock()
        defer { condition.unlock() }
        guard let ticket = ticketsByGeneration.removeValue(forKey: generation) else { return }
        pending[user]?.remove(ticket)
        if pending[user]?.isEmpty == true { pending.removeValue(forKey: user) }
        condition.broadcast()
    }

    /// Returns once every settlement of `user` in flight now is written, or after `longestWait`
    /// (false then). Costs one lock when there is none, as for nearly every read.
    @discardableResult
    func waitForSettlements(of user: UUID, longestWait: Double = SettlementsInFlight.longestWait) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard pending[user] != nil else { return true }
        let arrived = nextTicket
        // Without the lock: the store's own lock is taken, and a settlement ending takes this one.
        condition.unlock()
        hurry()
        condition.lock()
        let deadline = Date().addingTimeInterval(longestWait)
        while let tickets = pending[user], tickets.contains(where: { $0 <= arrived }) {
            guard condition.wait(until: deadline) else { return false }
        }
        return true
    }

    /// Whether any settlement of `user` is in flight now.
    func inFlight(for user: UUID) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return pending[user] != nil
    }

    /// Settlements in flight now (for tests and metrics).
    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return ticketsByGeneration.count
    }
}

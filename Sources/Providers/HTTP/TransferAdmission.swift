import Synchronization

/// The cap on transfers in flight at once. A caller beyond it waits suspended (no thread held),
/// first come first served, until a transfer ends or its task is cancelled.
final class TransferAdmission: Sendable {
    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var inFlight = 0
        var waiters: [Waiter] = []
        var nextID = 0
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    var inFlight: Int { state.withLock { $0.inFlight } }

    /// True once a slot is held (give it back with `release`); false when the task was cancelled
    /// while waiting.
    func acquire() async -> Bool {
        let id: Int? = state.withLock { state in
            if state.inFlight < limit && state.waiters.isEmpty {
                state.inFlight += 1
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return true }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let admitted: Bool? = state.withLock { state in
                    // Cancelled before the handler below could see this waiter: never queued.
                    if Task.isCancelled { return false }
                    // A slot freed meanwhile and nobody is ahead.
                    if state.inFlight < limit && state.waiters.isEmpty {
                        state.inFlight += 1
                        return true
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let admitted { continuation.resume(returning: admitted) }
            }
        } onCancel: {
            let removed: Waiter? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            removed?.continuation.resume(returning: false)
        }
    }

    /// Gives a slot back: to the first waiter, or to the pool.
    func release() {
        let next: Waiter? = state.withLock { state in
            guard !state.waiters.isEmpty else {
                state.inFlight -= 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.continuation.resume(returning: true)
    }
}

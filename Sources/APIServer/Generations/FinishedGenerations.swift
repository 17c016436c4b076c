import Domain
import Foundation
import Synchronization

/// The finished generations someone is waiting for (`Prefer: wait`, a chat completion), as the
/// runner's last call returned them: the waiting request answers from here instead of reading the
/// generation again. Only expected ids are kept, and each only until it is taken, so nothing piles up.
final class FinishedGenerations: Sendable {
    private struct Expectation {
        var detail: GenerationDetail?
        /// Whether an answer offered before its settlement is written will do (`offerEarly`).
        let beforeSettlement: Bool
    }

    private let state = Mutex<[UUID: Expectation]>([:])

    init() {}

    /// Before the generation starts: keep its detail when it finishes (or, `beforeSettlement`,
    /// when its answer is known and its settlement is about to be written).
    func expect(_ id: UUID, beforeSettlement: Bool = false) {
        state.withLock { $0[id] = Expectation(detail: nil, beforeSettlement: beforeSettlement) }
    }

    /// From the runner: kept only when someone expects it.
    func put(_ detail: GenerationDetail) {
        state.withLock { state in
            state[detail.generation.id]?.detail = detail
        }
    }

    /// From the runner before the settlement: kept only when expected that way and nothing came
    /// yet. Returns whether it was kept.
    func offerEarly(_ detail: GenerationDetail) -> Bool {
        state.withLock { state in
            guard let expectation = state[detail.generation.id], expectation.beforeSettlement, expectation.detail == nil else { return false }
            state[detail.generation.id]?.detail = detail
            return true
        }
    }

    /// The detail if it finished meanwhile; the expectation ends either way.
    func take(_ id: UUID) -> GenerationDetail? {
        state.withLock { $0.removeValue(forKey: id)?.detail }
    }
}

import Domain
import Foundation
import Synchronization

/// The finished generations someone is waiting for (`Prefer: wait`), as the runner's last call
/// returned them: the waiting request answers from here instead of reading the generation again.
/// Only expected ids are kept, and each only until it is taken, so nothing piles up.
final class FinishedGenerations: Sendable {
    private let state = Mutex<[UUID: GenerationDetail?]>([:])

    init() {}

    /// Before the generation starts: keep its detail when it finishes.
    func expect(_ id: UUID) {
        state.withLock { $0[id] = .some(nil) }
    }

    /// From the runner: kept only when someone expects it.
    func put(_ detail: GenerationDetail) {
        state.withLock { state in
            if state[detail.generation.id] != nil { state[detail.generation.id] = .some(detail) }
        }
    }

    /// The detail if it finished meanwhile; the expectation ends either way.
    func take(_ id: UUID) -> GenerationDetail? {
        state.withLock { $0.removeValue(forKey: id) ?? nil }
    }
}

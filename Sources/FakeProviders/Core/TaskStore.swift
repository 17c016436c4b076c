import Foundation
import Synchronization

/// A job at an async provider (Runway task, Veo operation, FAL queue request). Its state is a
/// function of how many times it has been polled, so a test knows exactly what each poll sees.
struct FakeTask: Sendable {
    let provider: String
    let id: String
    /// Which endpoint created it: `text_to_image`, `image_to_video`, `text_to_video`, or a FAL app.
    let kind: String
    let model: String
    let behavior: BehaviorName
    let createdAt: Date
    /// Facts the result needs: duration, ratio, sample count, image size...
    let facts: [String: String]
    var polls = 0
    var cancelled = false
    var deleted = false
}

/// Every task, bounded: past the limit the oldest are forgotten (and then answer 404).
final class TaskStore: Sendable {
    static let maximumTasks = 10_000

    private struct State {
        var tasks: [String: FakeTask] = [:]
        var order: [String] = []
    }

    private let state = Mutex(State())

    func create(_ task: FakeTask) {
        state.withLock { state in
            state.tasks[task.id] = task
            state.order.append(task.id)
            if state.order.count > Self.maximumTasks {
                let dropped = state.order.removeFirst()
                state.tasks[dropped] = nil
            }
        }
    }

    /// The task after counting one more poll (a cancelled or deleted task stops advancing).
    func poll(provider: String, id: String) -> FakeTask? {
        state.withLock { state in
            guard var task = state.tasks[id], task.provider == provider, !task.deleted else { return nil }
            if !task.cancelled { task.polls += 1 }
            state.tasks[id] = task
            return task
        }
    }

    func peek(provider: String, id: String) -> FakeTask? {
        state.withLock { state in
            guard let task = state.tasks[id], task.provider == provider, !task.deleted else { return nil }
            return task
        }
    }

    /// Applies `change` and returns the task as it was before, or nil when there is none.
    func update(provider: String, id: String, _ change: (inout FakeTask) -> Void) -> FakeTask? {
        state.withLock { state in
            guard var task = state.tasks[id], task.provider == provider, !task.deleted else { return nil }
            let before = task
            change(&task)
            state.tasks[id] = task
            return before
        }
    }

    func reset() {
        state.withLock { $0 = State() }
    }

}

enum FakeIDs {
    static func uuid() -> String { UUID().uuidString.lowercased() }

    /// Only ids the fake could have issued are looked up: bounded, and safe to echo.
    static func isPlausible(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }
}

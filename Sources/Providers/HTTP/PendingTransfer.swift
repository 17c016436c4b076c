import Synchronization

/// One `CurlMultiLoop.perform` call between its caller and the loop thread: the request, the
/// continuation to resume exactly once, and whether the caller's task was cancelled (which the
/// loop may learn before or after it has started the transfer).
final class PendingTransfer: Sendable {
    typealias Outcome = Result<OutboundResponse, TransportError>

    private enum Phase {
        case created
        case waiting(CheckedContinuation<Outcome, Never>)
        case cancelledEarly
        case done
    }

    private struct State {
        var phase = Phase.created
        var cancelRequested = false
    }

    let request: OutboundRequest
    private let state = Mutex(State())

    init(_ request: OutboundRequest) {
        self.request = request
    }

    static let cancelled = TransportError(.cancelled, "the call was cancelled", mayHaveReachedServer: true)

    /// Stores the continuation; false (and the continuation resumed) when the task was cancelled
    /// before the call could be handed to the loop.
    func attach(_ continuation: CheckedContinuation<Outcome, Never>) -> Bool {
        let attached = state.withLock { state -> Bool in
            if case .cancelledEarly = state.phase { return false }
            state.phase = .waiting(continuation)
            return true
        }
        if !attached { continuation.resume(returning: .failure(Self.cancelled)) }
        return attached
    }

    /// Records the cancellation; true when the loop has (or will have) the call and must stop it.
    func requestCancel() -> Bool {
        state.withLock { state in
            switch state.phase {
            case .created:
                state.phase = .cancelledEarly
                return false
            case .waiting:
                state.cancelRequested = true
                return true
            case .cancelledEarly, .done:
                return false
            }
        }
    }

    var isCancelRequested: Bool { state.withLock { $0.cancelRequested } }

    /// Resumes the caller once; later calls do nothing.
    func complete(_ outcome: Outcome) {
        let continuation: CheckedContinuation<Outcome, Never>? = state.withLock { state in
            guard case let .waiting(continuation) = state.phase else { return nil }
            state.phase = .done
            return continuation
        }
        continuation?.resume(returning: outcome)
    }
}

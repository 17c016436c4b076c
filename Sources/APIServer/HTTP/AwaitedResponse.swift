import Foundation
import Synchronization

/// Responses that wait for an event (a generation ending, for `Prefer: wait`) with the connection
/// suspended, never a thread: the handler returns a `ResponseSignal` and a deadline; whoever
/// causes the event calls `signal`, and a timer answers at the deadline if nobody did first.
/// Thousands of waiters cost a suspended connection and a pending timer each.

/// A handler that may answer now or once signalled.
typealias AwaitingHandler = @Sendable (HTTPRequest) throws -> AwaitedResponse

enum AwaitedResponse: Sendable {
    case now(HTTPResponse)
    /// Suspend until `signal` fires or `deadline` (seconds from now) passes; `respond` makes the
    /// answer in either case (`true` when signalled), on the signalling or the timer's thread.
    case later(ResponseSignal, deadline: Double, respond: @Sendable (_ signalled: Bool) -> HTTPResponse)

    /// An answer made at once on a global queue, with the connection suspended meanwhile: for work
    /// that may wait (for this user's settlements) or pause between retries, which an HTTP thread must not.
    static func elsewhere(_ answer: @escaping @Sendable () -> HTTPResponse) -> AwaitedResponse {
        let signal = ResponseSignal()
        signal.signal()
        return .later(signal, deadline: 3_600, respond: { _ in answer() })
    }
}

/// Fires once. A listener added after it fired runs at once, so a signal that arrives before
/// the connection is suspended is not lost.
final class ResponseSignal: Sendable {
    private enum State {
        case waiting([@Sendable (Bool) -> Void])
        case fired(Bool)
    }

    private let state = Mutex(State.waiting([]))

    init() {}

    /// The event happened.
    func signal() { fire(true) }

    /// Nobody will signal any more (deadline, shutdown).
    func expire() { fire(false) }

    private func fire(_ signalled: Bool) {
        let listeners = state.withLock { state -> [@Sendable (Bool) -> Void] in
            guard case .waiting(let listeners) = state else { return [] }
            state = .fired(signalled)
            return listeners
        }
        listeners.forEach { $0(signalled) }
    }

    /// Runs `listener` on the thread that fires the signal, or, when it has fired already, on a
    /// global queue: never on the registering thread, which in `Application` is an HTTP thread
    /// that must not run the answer's database reads and retries.
    func onFire(_ listener: @escaping @Sendable (Bool) -> Void) {
        let fired = state.withLock { state -> Bool? in
            switch state {
            case .waiting(let listeners):
                state = .waiting(listeners + [listener])
                return nil
            case .fired(let signalled):
                return signalled
            }
        }
        if let fired { DispatchQueue.global().async { listener(fired) } }
    }

    var hasFired: Bool {
        state.withLock { if case .fired = $0 { true } else { false } }
    }
}

/// Signals by key (a generation id): every waiter for a key is woken when it is signalled.
final class SignalBoard<Key: Hashable & Sendable>: Sendable {
    private let waiters = Mutex<[Key: [ResponseSignal]]>([:])

    init() {}

    /// A signal fired by the next `signal(key)`. Remove it with `forget` when it expires.
    func wait(for key: Key) -> ResponseSignal {
        let signal = ResponseSignal()
        waiters.withLock { $0[key, default: []].append(signal) }
        return signal
    }

    /// Wakes `key`'s waiters on this thread: each one's answer is made here (its listener).
    func signal(_ key: Key) {
        let signals = waiters.withLock { $0.removeValue(forKey: key) ?? [] }
        signals.forEach { $0.signal() }
    }

    /// `signal` from a global queue, for callers on an HTTP thread: the waiters' answers read the
    /// database (and may retry), which must not hold the thread that called.
    func signalSoon(_ key: Key) {
        DispatchQueue.global().async { [self] in signal(key) }
    }

    func forget(_ signal: ResponseSignal, for key: Key) {
        waiters.withLock { waiters in
            waiters[key]?.removeAll { $0 === signal }
            if waiters[key]?.isEmpty == true { waiters.removeValue(forKey: key) }
        }
    }

    var waitingCount: Int { waiters.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}

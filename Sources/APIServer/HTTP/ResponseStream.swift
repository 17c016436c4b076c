import CMicroHTTPD
import Foundation
import Synchronization

/// A response body written over time (Server-Sent Events). The transport sends it with chunked
/// encoding; when MHD asks for bytes and none are pending, the connection is suspended (no
/// thread waits), and a `write` or `finish` resumes it. Writers are any thread.
///
/// The bytes not yet sent are bounded (`maximumPendingBytes`): a client that stops reading while
/// its writer goes on is cut off (the connection is aborted, and `write` answers false as for a
/// client that left), so it cannot make the server hold an unbounded backlog. A writer that can
/// wait instead (an event stream's history) asks to be told when the backlog has drained
/// (`whenDrained`).
final class ResponseStream: Sendable {
    private struct State {
        /// Unsent bytes are `pending[sent...]`; sent bytes are dropped in bulk, not one read at a
        /// time (dropping each read's prefix moved the whole backlog on every 1 KiB read).
        var pending: [UInt8] = []
        var sent = 0
        var finished = false
        /// The client went away or the transport dropped the response: writes are discarded.
        var closed = false
        /// The backlog passed its bound: the transport aborts the connection at its next read.
        var overflowed = false
        var suspended = false
        var connection: ConnectionHandle?
        var onClose: [@Sendable () -> Void] = []
        var drained: (below: Int, action: @Sendable () -> Void)?
        var serverStop: (@Sendable () -> Void)?

        var unsent: Int { pending.count - sent }
    }

    private let state = Mutex(State())
    let maximumPendingBytes: Int

    /// Bytes a client may leave unread before it is cut off.
    static let defaultMaximumPendingBytes = 4 << 20

    init(maximumPendingBytes: Int = ResponseStream.defaultMaximumPendingBytes) {
        self.maximumPendingBytes = max(1, maximumPendingBytes)
    }

    /// Queues bytes for the client; false once the stream is closed, or when they would take the
    /// unsent backlog past its bound (the client is then cut off and the bytes dropped).
    @discardableResult
    func write(_ bytes: some Collection<UInt8>) -> Bool {
        state.withLock { state in
            guard !state.closed, !state.finished, !state.overflowed else { return false }
            guard bytes.count <= maximumPendingBytes - state.unsent else {
                state.overflowed = true
                state.pending = []
                state.sent = 0
                Self.resumeIfSuspended(&state)
                return false
            }
            state.pending.append(contentsOf: bytes)
            Self.resumeIfSuspended(&state)
            return true
        }
    }

    /// Ends the body once the pending bytes are sent.
    func finish() {
        state.withLock { state in
            state.finished = true
            Self.resumeIfSuspended(&state)
        }
    }

    var isClosed: Bool { state.withLock { $0.closed || $0.overflowed } }

    /// Set by a stream whose client cannot simply resume it (a chat answer): a stopping server lets
    /// it run through the shutdown grace and then runs `action`, which ends it in its own way,
    /// instead of ending it at once as it does an event stream (whose client reconnects).
    func onServerStop(_ action: @escaping @Sendable () -> Void) {
        state.withLock { $0.serverStop = action }
    }

    /// Whether a stopping server ends it at once.
    var endsWhenServerStops: Bool { state.withLock { $0.serverStop == nil } }

    /// The server stops with this stream still open: its own ending, else a plain end.
    func endForServerStop() {
        let action = state.withLock { state in
            defer { state.serverStop = nil }
            return state.serverStop
        }
        if let action { action() } else { finish() }
    }

    /// Bytes written and not yet taken by the transport.
    var unsentBytes: Int { state.withLock { $0.unsent } }

    /// Runs `action` once (on a global queue) when fewer than `below` bytes are left unsent: at
    /// once if that is already so, else after the transport's read that gets there. Not run if
    /// the stream closes first; a later call replaces an earlier one still waiting.
    func whenDrained(below: Int, _ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            guard !state.closed, !state.overflowed else { state.drained = nil; return false }
            if state.unsent < below { state.drained = nil; return true }
            state.drained = (below, action)
            return false
        }
        if now { DispatchQueue.global().async(execute: action) }
    }

    /// Runs once when the response is gone (sent whole, client gone, server stopping); at once if it already is.
    func onClose(_ action: @escaping @Sendable () -> Void) {
        let closed = state.withLock { state -> Bool in
            if !state.closed { state.onClose.append(action) }
            return state.closed
        }
        if closed { action() }
    }

    private static func resumeIfSuspended(_ state: inout State) {
        guard state.suspended, let connection = state.connection else { return }
        state.suspended = false
        MHD_resume_connection(connection.raw)
    }

    // MARK: transport side (MHDStreaming.swift)

    func attach(_ connection: OpaquePointer) {
        let handle = ConnectionHandle(raw: connection)
        state.withLock { $0.connection = handle }
    }

    /// What MHD's reader callback returns: bytes copied into `buffer`, end of stream (-1), an
    /// aborted connection (-2, a client cut off for its backlog), or 0 after suspending the
    /// connection until there is something to send.
    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let (result, drained) = state.withLock { state -> (Int, (@Sendable () -> Void)?) in
            if state.overflowed { return (-2, nil) }
            if state.unsent > 0 {
                let count = min(capacity, state.unsent)
                let sent = state.sent
                state.pending.withUnsafeBufferPointer { bytes in
                    guard let base = bytes.baseAddress else { return }
                    UnsafeMutableRawPointer(buffer).copyMemory(from: base + sent, byteCount: count)
                }
                state.sent += count
                if state.sent == state.pending.count {
                    state.pending.removeAll(keepingCapacity: state.pending.count <= 64 << 10)
                    state.sent = 0
                } else if state.sent >= 64 << 10, state.sent >= state.pending.count / 2 {
                    // Dropped once at least half is sent: each byte is moved at most once more.
                    state.pending.removeFirst(state.sent)
                    state.sent = 0
                }
                var action: (@Sendable () -> Void)?
                if let drained = state.drained, state.unsent < drained.below {
                    action = drained.action
                    state.drained = nil
                }
                return (count, action)
            }
            if state.finished || state.closed { return (-1, nil) }
            guard let connection = state.connection else { return (-1, nil) }
            state.suspended = true
            MHD_suspend_connection(connection.raw)
            return (0, nil)
        }
        // Not on the HTTP thread: the writer it wakes may read the database.
        if let drained { DispatchQueue.global().async(execute: drained) }
        return result
    }

    /// The response was destroyed: the connection is gone or done with it.
    func close() {
        let actions = state.withLock { state -> [@Sendable () -> Void] in
            state.closed = true
            state.suspended = false
            state.connection = nil
            state.drained = nil
            // Its own ending at a server stop often holds its owner, which holds this stream: let go.
            state.serverStop = nil
            defer { state.onClose = [] }
            return state.onClose
        }
        actions.forEach { $0() }
    }
}

/// An MHD connection pointer handed between threads: MHD allows resuming a connection from any
/// thread, and the stream's lock orders every use.
struct ConnectionHandle: @unchecked Sendable {
    let raw: OpaquePointer
}

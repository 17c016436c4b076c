import CMicroHTTPD
import Foundation
import Synchronization

/// A response body written over time (Server-Sent Events). The transport sends it with chunked
/// encoding; when MHD asks for bytes and none are pending, the connection is suspended (no
/// thread waits), and a `write` or `finish` resumes it. Writers are any thread.
final class ResponseStream: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var finished = false
        /// The client went away or the transport dropped the response: writes are discarded.
        var closed = false
        var suspended = false
        var connection: ConnectionHandle?
        var onClose: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    init() {}

    /// Queues bytes for the client; false once the stream is closed.
    @discardableResult
    func write(_ bytes: some Sequence<UInt8>) -> Bool {
        state.withLock { state in
            guard !state.closed, !state.finished else { return false }
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

    var isClosed: Bool { state.withLock { $0.closed } }

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

    /// What MHD's reader callback returns: bytes copied into `buffer`, end of stream (-1), or 0
    /// after suspending the connection until there is something to send.
    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        state.withLock { state in
            if !state.pending.isEmpty {
                let count = min(capacity, state.pending.count)
                _ = UnsafeMutableRawBufferPointer(start: buffer, count: count).initializeMemory(as: UInt8.self,
                                                                                                   from: state.pending.prefix(count))
                state.pending.removeFirst(count)
                return count
            }
            if state.finished || state.closed { return -1 }
            guard let connection = state.connection else { return -1 }
            state.suspended = true
            MHD_suspend_connection(connection.raw)
            return 0
        }
    }

    /// The response was destroyed: the connection is gone or done with it.
    func close() {
        let actions = state.withLock { state -> [@Sendable () -> Void] in
            state.closed = true
            state.suspended = false
            state.connection = nil
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

import CLibPQ
import Foundation

/// A dedicated connection LISTENing on `generation_work` (migration 082), so an idle worker
/// sleeps until a generation becomes claimable instead of asking the database every second.
/// Not thread-safe: one worker thread owns it.
public final class GenerationWorkListener: @unchecked Sendable {
    public static let channel = "generation_work"
    private var handle: OpaquePointer?
    private let url: String

    public init(url: String) {
        self.url = url
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Waits up to `seconds` for a notification; true when one (or more, drained together)
    /// arrived. Connects and LISTENs on first use and after a broken connection; a connection
    /// that cannot be made throws, and the caller falls back to its timer.
    public func wait(seconds: Double) throws -> Bool {
        let connection = try listening()
        if drain(connection) { return true }
        var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(max(0, min(seconds, 3600)) * 1000))
        guard ready > 0 else { return false }
        guard PQconsumeInput(connection) == 1 else {
            reset()
            throw DatabaseError(step: .statement, sqlState: nil, serverMessage: "the LISTEN connection broke")
        }
        return drain(connection)
    }

    private func listening() throws -> OpaquePointer {
        if let handle, PQstatus(handle) == CONNECTION_OK { return handle }
        reset()
        guard let connection = PQconnectdb(url) else {
            throw DatabaseError(step: .connect, sqlState: nil, serverMessage: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            throw DatabaseError(step: .connect, sqlState: nil, serverMessage: message)
        }
        let result = PQexec(connection, "LISTEN \(Self.channel)")
        let ok = PQresultStatus(result) == PGRES_COMMAND_OK
        PQclear(result)
        guard ok else {
            let message = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            throw DatabaseError(step: .statement, sqlState: nil, serverMessage: message)
        }
        handle = connection
        return connection
    }

    /// Takes every notification already received; true if there was one.
    private func drain(_ connection: OpaquePointer) -> Bool {
        var any = false
        while let notification = PQnotifies(connection) {
            PQfreemem(notification)
            any = true
        }
        return any
    }

    private func reset() {
        if let handle { PQfinish(handle) }
        handle = nil
    }
}

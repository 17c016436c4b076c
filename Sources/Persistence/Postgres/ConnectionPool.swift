import Foundation

/// A bounded pool of blocking libpq connections for threads that may block (libmicrohttpd's pool,
/// worker threads). Never use it from Swift's cooperative executor.
///
/// Connections are opened lazily up to `maximumConnections`; a caller that finds none free waits
/// up to `acquireTimeout` and then gets a `DatabaseError` at step `.acquire`. Waiters are served in
/// arrival order: a returned connection (or room to open one) is handed to the oldest waiter, never
/// to a caller that arrived later, so under a burst no request starves into the timeout while
/// newer ones are served. A connection that
/// libpq reports broken is discarded on its way back, so after a PostgreSQL restart the pool heals
/// itself as each stale connection is tried once and replaced.
public final class ConnectionPool: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var url: String
        public var maximumConnections: Int
        public var acquireTimeout: TimeInterval
        public var connectTimeoutSeconds: Int

        public init(url: String, maximumConnections: Int = 10, acquireTimeout: TimeInterval = 5, connectTimeoutSeconds: Int = 5) {
            self.url = url
            self.maximumConnections = maximumConnections
            self.acquireTimeout = acquireTimeout
            self.connectTimeoutSeconds = connectTimeoutSeconds
        }
    }

    public struct Statistics: Sendable, Equatable {
        public let inUse: Int
        public let idle: Int
        public let maximum: Int

        public init(inUse: Int, idle: Int, maximum: Int) {
            self.inUse = inUse
            self.idle = idle
            self.maximum = maximum
        }
    }

    public let configuration: Configuration
    // All mutable state below is guarded by `lock`.
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private var inUse = 0
    private var opening = 0
    private var closed = false
    /// Callers waiting for a loan, oldest first.
    private var waiters: [Waiter] = []

    /// What a waiting caller was handed: a connection already counted in `inUse`, or room to open
    /// one already counted in `opening`.
    private enum Grant {
        case connection(PostgresConnection)
        case open
    }

    /// Woken alone when served (a broadcast would wake every waiter on every return).
    private final class Waiter {
        var grant: Grant?
        let wake = DispatchSemaphore(value: 0)
    }

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    public var statistics: Statistics {
        lock.lock()
        defer { lock.unlock() }
        return Statistics(inUse: inUse, idle: idle.count, maximum: configuration.maximumConnections)
    }

    /// Callers waiting for a connection right now.
    var waitingCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return waiters.count
    }

    /// Lends a connection to `body` and takes it back afterwards, whatever happens.
    @discardableResult
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try acquire()
        defer { release(connection) }
        return try body(connection)
    }

    /// Closes idle connections and refuses new loans; loans in progress finish normally.
    public func close() {
        lock.lock()
        closed = true
        let toClose = idle
        idle.removeAll()
        for waiter in waiters { waiter.wake.signal() }
        lock.unlock()
        _ = toClose  // released here, outside the lock; deinit calls PQfinish
    }

    /// Drops every idle connection; the next loans open new ones.
    public func discardIdleConnections() {
        lock.lock()
        let dropped = idle
        idle.removeAll()
        lock.unlock()
        _ = dropped
    }

    func acquire() throws -> PostgresConnection {
        let deadline = Date().addingTimeInterval(configuration.acquireTimeout)
        lock.lock()
        if closed {
            lock.unlock()
            throw DatabaseError(step: .acquire, sqlState: nil, serverMessage: "connection pool is closed")
        }
        // Only when nobody is waiting may a caller take a free connection directly: otherwise it
        // would overtake callers that have waited longer.
        if waiters.isEmpty {
            if let connection = takeSettledIdle() ?? idle.popLast() {
                inUse += 1
                lock.unlock()
                return try checked(connection)
            }
            if inUse + opening < configuration.maximumConnections {
                opening += 1
                lock.unlock()
                return try openNew()
            }
        }
        let waiter = Waiter()
        waiters.append(waiter)
        lock.unlock()
        // A grant or a close signals the semaphore; a timeout is checked under the lock, where a
        // grant made meanwhile is still taken.
        _ = waiter.wake.wait(timeout: .now() + max(0, deadline.timeIntervalSinceNow))
        lock.lock()
        guard let grant = waiter.grant else {
            waiters.removeAll { $0 === waiter }
            let wasClosed = closed
            lock.unlock()
            throw DatabaseError(step: .acquire, sqlState: nil,
                                serverMessage: wasClosed ? "connection pool is closed"
                                                         : "no connection free within \(configuration.acquireTimeout) s")
        }
        lock.unlock()
        switch grant {
        case .connection(let connection): return try checked(connection)
        case .open: return try openNew()
        }
    }

    func release(_ connection: PostgresConnection) {
        // A connection that is broken, or was left inside a transaction by a failed rollback,
        // must never be lent again: the next borrower would inherit its state.
        // One whose last pipeline left statements unread is lent again: its next use reads them first.
        let reusable = connection.isHealthy && (connection.unreadTail != nil || !connection.isInTransaction)
        lock.lock()
        inUse -= 1
        if reusable && !closed {
            idle.append(connection)
        }
        serveOldestWaiters()
        lock.unlock()
    }

    /// A connection just taken from the pool, or a fresh one in its place when libpq already knows
    /// it is broken (the caller is counted in `inUse` either way).
    private func checked(_ connection: PostgresConnection) throws -> PostgresConnection {
        if connection.isHealthy { return connection }
        return try openReplacingLoan()
    }

    /// Hands free connections, then room to open new ones, to the oldest waiters. Called with the
    /// lock held whenever a connection or room becomes free. A closed pool lends nothing: its
    /// waiters, woken by `close`, leave with an error.
    private func serveOldestWaiters() {
        while !waiters.isEmpty && !closed {
            let grant: Grant
            if let connection = takeSettledIdle() ?? idle.popLast() {
                inUse += 1
                grant = .connection(connection)
            } else if inUse + opening < configuration.maximumConnections {
                opening += 1
                grant = .open
            } else {
                break
            }
            let waiter = waiters.removeFirst()
            waiter.grant = grant
            waiter.wake.signal()
        }
    }

    /// With the lock held: the most recently returned idle connection whose last pipeline left
    /// nothing running (`PostgresConnection.unreadTail`). One that did is lent after every other idle
    /// one: its borrower would first wait for that work (an attempt's report) on the server, which
    /// another connection lets run beside the borrower's own. No connection is opened while one is
    /// idle, busy or not: the count of loans and openings bounds the pool only because opening waits
    /// for an empty idle list.
    private func takeSettledIdle() -> PostgresConnection? {
        guard let index = idle.lastIndex(where: { $0.unreadTail == nil }) else { return nil }
        return idle.remove(at: index)
    }

    private func openNew() throws -> PostgresConnection {
        do {
            let connection = try PostgresConnection(url: configuration.url, connectTimeoutSeconds: configuration.connectTimeoutSeconds)
            lock.lock()
            opening -= 1
            inUse += 1
            lock.unlock()
            return connection
        } catch {
            lock.lock()
            opening -= 1
            serveOldestWaiters()
            lock.unlock()
            throw error
        }
    }

    /// Opens a connection for a caller already counted in `inUse`.
    private func openReplacingLoan() throws -> PostgresConnection {
        do {
            return try PostgresConnection(url: configuration.url, connectTimeoutSeconds: configuration.connectTimeoutSeconds)
        } catch {
            lock.lock()
            inUse -= 1
            serveOldestWaiters()
            lock.unlock()
            throw error
        }
    }
}

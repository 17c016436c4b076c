import Foundation

/// A bounded pool of blocking libpq connections for threads that may block (libmicrohttpd's pool,
/// worker threads). Never use it from Swift's cooperative executor.
///
/// Connections are opened lazily up to `maximumConnections`; a caller that finds none free waits
/// up to `acquireTimeout` and then gets a `DatabaseError` at step `.acquire`. A connection that
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
    // All mutable state below is guarded by `condition`.
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var inUse = 0
    private var opening = 0
    private var closed = false

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return Statistics(inUse: inUse, idle: idle.count, maximum: configuration.maximumConnections)
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
        condition.lock()
        closed = true
        let toClose = idle
        idle.removeAll()
        condition.broadcast()
        condition.unlock()
        _ = toClose  // released here, outside the lock; deinit calls PQfinish
    }

    /// Drops every idle connection; the next loans open new ones.
    public func discardIdleConnections() {
        condition.lock()
        let dropped = idle
        idle.removeAll()
        condition.unlock()
        _ = dropped
    }

    func acquire() throws -> PostgresConnection {
        let deadline = Date().addingTimeInterval(configuration.acquireTimeout)
        condition.lock()
        while true {
            if closed {
                condition.unlock()
                throw DatabaseError(step: .acquire, sqlState: nil, serverMessage: "connection pool is closed")
            }
            if let connection = idle.popLast() {
                inUse += 1
                condition.unlock()
                if connection.isHealthy { return connection }
                // Known broken: drop it and open a fresh one in its place.
                return try openReplacingLoan()
            }
            if inUse + opening < configuration.maximumConnections {
                opening += 1
                condition.unlock()
                return try openNew()
            }
            if !condition.wait(until: deadline) {
                condition.unlock()
                throw DatabaseError(step: .acquire, sqlState: nil,
                                    serverMessage: "no connection free within \(configuration.acquireTimeout) s")
            }
        }
    }

    func release(_ connection: PostgresConnection) {
        // A connection that is broken, or was left inside a transaction by a failed rollback,
        // must never be lent again: the next borrower would inherit its state.
        let reusable = connection.isHealthy && !connection.isInTransaction
        condition.lock()
        inUse -= 1
        if reusable && !closed {
            idle.append(connection)
        }
        condition.signal()
        condition.unlock()
    }

    private func openNew() throws -> PostgresConnection {
        do {
            let connection = try PostgresConnection(url: configuration.url, connectTimeoutSeconds: configuration.connectTimeoutSeconds)
            condition.lock()
            opening -= 1
            inUse += 1
            condition.unlock()
            return connection
        } catch {
            condition.lock()
            opening -= 1
            condition.signal()
            condition.unlock()
            throw error
        }
    }

    /// Opens a connection for a caller already counted in `inUse`.
    private func openReplacingLoan() throws -> PostgresConnection {
        do {
            return try PostgresConnection(url: configuration.url, connectTimeoutSeconds: configuration.connectTimeoutSeconds)
        } catch {
            condition.lock()
            inUse -= 1
            condition.signal()
            condition.unlock()
            throw error
        }
    }
}

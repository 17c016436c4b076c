/// A connection inside an open transaction. Only `ConnectionPool.withTransaction` makes one,
/// so a statement run through it is always inside BEGIN…COMMIT/ROLLBACK.
public struct Transaction: ~Copyable {
    let connection: PostgresConnection

    @discardableResult
    public func query(_ sql: SQL) throws -> [PostgresRow] {
        try connection.query(sql)
    }
}

extension ConnectionPool {
    /// Runs `body` in one transaction: BEGIN, the body, then COMMIT, or ROLLBACK if anything throws.
    ///
    /// A failure of BEGIN, COMMIT or ROLLBACK is a `DatabaseError` whose `step` says which; an
    /// error thrown by the body is rethrown unchanged after the rollback. When BEGIN fails because a
    /// pooled connection turned out to be dead (e.g. PostgreSQL restarted), the idle connections
    /// are dropped too (they were opened against the same server, so they are just as dead) and
    /// the transaction is retried once on a fresh connection: nothing has run yet, so this cannot
    /// repeat work.
    @discardableResult
    public func withTransaction<T>(readOnly: Bool = false, _ body: (borrowing Transaction) throws -> T) throws -> T {
        do {
            return try runTransaction(readOnly: readOnly, body)
        } catch let error as DatabaseError where error.step == .begin && error.isConnectionFailure {
            discardIdleConnections()
            return try runTransaction(readOnly: readOnly, body)
        }
    }

    private func runTransaction<T>(readOnly: Bool, _ body: (borrowing Transaction) throws -> T) throws -> T {
        try withConnection { connection in
            try connection.query(readOnly ? "begin read only" : "begin", step: .begin)
            let transaction = Transaction(connection: connection)
            let value: T
            do {
                value = try body(transaction)
            } catch {
                // The body's error is the one the caller needs; a rollback failure leaves the
                // connection unusable, and `release` discards it.
                _ = try? connection.query("rollback", step: .rollback)
                throw error
            }
            try connection.query("commit", step: .commit)
            return value
        }
    }
}

/// A connection inside an open transaction. Only `ConnectionPool.withTransaction` makes one,
/// so a statement run through it is always inside BEGIN…COMMIT/ROLLBACK.
///
/// The transaction is opened lazily: BEGIN and the scope's setup (role, claims) travel in one
/// round trip with the first statement (`PostgresConnection.pipeline`), so a one-statement read
/// costs two round trips rather than four. Once any of them has failed, every later statement
/// throws that failure, and `withTransaction` reports it whatever the body made of it.
public struct Transaction: ~Copyable {
    let connection: PostgresConnection

    @discardableResult
    public func query(_ sql: SQL) throws -> [PostgresRow] {
        if let failure = connection.openingFailure { throw failure }
        guard !connection.openingStatements.isEmpty else { return try connection.query(sql) }
        let opening = connection.openingStatements
        connection.openingStatements = []
        let outcome = connection.pipeline(opening + [(sql, .statement)])
        if let (index, error) = outcome.failure {
            if index < opening.count { connection.openingFailure = error }
            throw error
        }
        return outcome.rows.last ?? []
    }
}

extension ConnectionPool {
    /// Runs `body` in one transaction: BEGIN, `setup`, the body, then COMMIT, or ROLLBACK if
    /// anything throws. A body that runs no statement opens no transaction at all.
    ///
    /// A failure of BEGIN, COMMIT or ROLLBACK is a `DatabaseError` whose `step` says which; a
    /// failure of `setup` is its `.statement` error; either wins over what the body threw or
    /// returned. An error thrown by the body is rethrown unchanged after the rollback. When BEGIN
    /// fails because a pooled connection turned out to be dead (e.g. PostgreSQL restarted), the idle
    /// connections are dropped too (they were opened against the same server, so they are just as
    /// dead) and the transaction is retried once on a fresh connection: nothing reached the
    /// database, so this cannot repeat database work (the body's Swift code before its first
    /// statement runs again).
    @discardableResult
    public func withTransaction<T>(readOnly: Bool = false, setup: SQL? = nil, _ body: (borrowing Transaction) throws -> T) throws -> T {
        do {
            return try runTransaction(readOnly: readOnly, setup: setup, body)
        } catch let error as DatabaseError where error.step == .begin && error.isConnectionFailure {
            discardIdleConnections()
            return try runTransaction(readOnly: readOnly, setup: setup, body)
        }
    }

    private func runTransaction<T>(readOnly: Bool, setup: SQL?, _ body: (borrowing Transaction) throws -> T) throws -> T {
        try withConnection { connection in
            connection.openingStatements = [(readOnly ? "begin read only" : "begin", .begin)] + (setup.map { [($0, .statement)] } ?? [])
            connection.openingFailure = nil
            defer {
                connection.openingStatements = []
                connection.openingFailure = nil
            }
            let transaction = Transaction(connection: connection)
            let value: T
            do {
                value = try body(transaction)
            } catch {
                // The body's error is the one the caller needs, unless the transaction never opened;
                // a rollback failure leaves the connection unusable, and `release` discards it.
                try Self.abandon(connection)
                throw error
            }
            if connection.openingFailure != nil { try Self.abandon(connection) }
            // Nothing was sent: there is no transaction to commit.
            guard connection.openingStatements.isEmpty else { return value }
            try connection.query("commit", step: .commit)
            return value
        }
    }

    /// Rolls back whatever is open, then throws the opening's failure if there was one.
    private static func abandon(_ connection: PostgresConnection) throws {
        if connection.isInTransaction { _ = try? connection.query("rollback", step: .rollback) }
        if let failure = connection.openingFailure { throw failure }
    }
}

extension ConnectionPool {
    /// One read-only statement in a transaction of its own, in ONE round trip: BEGIN READ ONLY,
    /// `setup`, the statement and COMMIT travel together in a pipeline (`oneRoundTrip`, the same
    /// path as `userScopeRoundTrip`). Errors as there: the first failure in that order, the
    /// connection rolled back before it returns to the pool, a dead pooled one retried once, fresh.
    public func readOnlyStatement(setup: SQL, _ sql: SQL) throws -> [PostgresRow] {
        try oneRoundTrip(readOnly: true, setup: [setup], [sql]).first ?? []
    }
}

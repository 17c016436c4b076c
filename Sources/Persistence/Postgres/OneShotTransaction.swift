import Synchronization

/// Round trips to PostgreSQL made by this process (each `query`, each `pipeline`): what the
/// generation benchmark reports per generation, since `pg_stat_statements` counts statements,
/// and a pipeline sends several in one exchange.
public enum DatabaseRoundTrips {
    static let counter = Atomic<Int>(0)

    public static var count: Int { counter.load(ordering: .relaxed) }

    static func add() {
        counter.add(1, ordering: .relaxed)
    }
}

extension ConnectionPool {
    /// A whole transaction in ONE round trip: BEGIN, the user's scope (role, timeout, claims),
    /// `statements` and COMMIT go out together in one pipeline (`PostgresConnection.pipeline`).
    /// Returns the rows of each statement. For a transaction whose statements do not depend on
    /// each other's results in Swift, which covers every call of an `app_engine`/`app_ledger`
    /// function and reads that go together; `withUserScope` remains for bodies that decide
    /// between statements.
    ///
    /// When any statement fails, those after it (COMMIT included) are skipped by the server, the
    /// transaction is rolled back, and the first failure is thrown: nothing of it is kept.
    public func userScopeRoundTrip(claimsJSON: String, readOnly: Bool = false, _ statements: [SQL]) throws -> [[PostgresRow]] {
        try oneRoundTrip(readOnly: readOnly, setup: [Self.userScope(claimsJSON: claimsJSON)], statements)
    }

    /// `userScopeRoundTrip` as the service role (cross-user maintenance, workers' claims).
    /// `asynchronousCommit`: the COMMIT does not wait for its WAL flush (`synchronous_commit =
    /// off` for this transaction only); only for writes whose loss in a crash of PostgreSQL is
    /// harmless, which the caller must argue.
    public func serviceRoleRoundTrip(asynchronousCommit: Bool = false, _ statements: [SQL]) throws -> [[PostgresRow]] {
        // The setting travels in the same pipeline as the scope: no round trip of its own.
        let asynchronous: [SQL] = asynchronousCommit ? ["select set_config('synchronous_commit', 'off', true)"] : []
        return try oneRoundTrip(readOnly: false, setup: [Self.serviceRoleScope] + asynchronous, statements)
    }

    func oneRoundTrip(readOnly: Bool, setup: [SQL], _ statements: [SQL]) throws -> [[PostgresRow]] {
        let run = {
            try self.withConnection { connection -> [[PostgresRow]] in
                // A pooled connection whose server went away (a restart) shows it without a round
                // trip: found here, nothing was sent, so trying again on a fresh one is safe.
                guard connection.closedByServer == false else {
                    throw DatabaseError(step: .begin, sqlState: nil, serverMessage: "pooled connection closed by the server")
                }
                let opening: [(sql: SQL, step: DatabaseError.Step)] = [(readOnly ? "begin read only" : "begin", .begin)]
                    + setup.map { (sql: $0, step: DatabaseError.Step.statement) }
                let body = statements.map { (sql: $0, step: DatabaseError.Step.statement) }
                let outcome = connection.pipeline(opening + body + [("commit", .commit)])
                if let (_, error) = outcome.failure {
                    // The server skipped the rest of the pipeline; the transaction is open in error.
                    if connection.isInTransaction { _ = try? connection.query("rollback", step: .rollback) }
                    // Sent, COMMIT included: a write may have committed before the connection broke,
                    // so only a read-only transaction may be tried again.
                    throw readOnly ? error : DatabaseError(step: error.step == .begin ? .statement : error.step, sqlState: error.sqlState,
                                                           serverMessage: error.serverMessage)
                }
                return Array(outcome.rows.dropFirst(opening.count).prefix(statements.count))
            }
        }
        do {
            return try run()
        } catch let error as DatabaseError where error.step == .begin && error.isConnectionFailure {
            // As `withTransaction`: the idle connections were opened against the same server.
            discardIdleConnections()
            return try run()
        }
    }
}

/// What `userScopeTransactions` answers: the rows of each transaction that committed, in order,
/// and the first failure (the transaction it broke, and why). The transactions after a failed one
/// were not run; those before it are committed.
public struct TransactionsOutcome {
    public let committed: [[[PostgresRow]]]
    public let failure: (transaction: Int, error: DatabaseError)?
}

extension ConnectionPool {
    /// Several transactions in ONE round trip, each with its own BEGIN, the user's scope and COMMIT,
    /// in one pipeline. For work that must be atomic in parts but need not hold the locks of one part
    /// while the next runs: a transaction commits before the next begins, so a row lock taken by the
    /// first is released before the second starts. When a statement fails, its transaction is rolled
    /// back and those after it are not run; the ones before it stay committed, and the caller is told
    /// which one failed.
    public func userScopeTransactions(claimsJSON: String, _ transactions: [[SQL]]) throws -> TransactionsOutcome {
        let scope = Self.userScope(claimsJSON: claimsJSON)
        let run = {
            try self.withConnection { connection -> TransactionsOutcome in
                guard connection.closedByServer == false else {
                    throw DatabaseError(step: .begin, sqlState: nil, serverMessage: "pooled connection closed by the server")
                }
                var statements: [(sql: SQL, step: DatabaseError.Step)] = []
                var bodies: [Range<Int>] = []
                var owners: [Int] = []
                for (index, body) in transactions.enumerated() {
                    statements.append(("begin", index == 0 ? .begin : .statement))
                    statements.append((scope, .statement))
                    let start = statements.count
                    statements += body.map { (sql: $0, step: DatabaseError.Step.statement) }
                    bodies.append(start..<statements.count)
                    statements.append(("commit", .commit))
                    owners += Array(repeating: index, count: body.count + 3)
                }
                let outcome = connection.pipeline(statements)
                guard let (failedIndex, error) = outcome.failure else {
                    return TransactionsOutcome(committed: bodies.map { Array(outcome.rows[$0]) }, failure: nil)
                }
                if connection.isInTransaction { _ = try? connection.query("rollback", step: .rollback) }
                // A broken connection may have failed before the first statement was answered; a
                // failure found at the first BEGIN is thrown as such, so the pool may try again.
                if failedIndex == 0 && error.step == .begin { throw error }
                let failed = owners.indices.contains(failedIndex) ? owners[failedIndex] : 0
                let written = DatabaseError(step: error.step == .begin ? .statement : error.step, sqlState: error.sqlState,
                                            serverMessage: error.serverMessage)
                return TransactionsOutcome(committed: bodies.prefix(failed).map { Array(outcome.rows[$0]) },
                                           failure: (failed, written))
            }
        }
        do {
            return try run()
        } catch let error as DatabaseError where error.step == .begin && error.isConnectionFailure {
            discardIdleConnections()
            return try run()
        }
    }
}

extension ConnectionPool {
    /// One statement in the user's scope, its transaction in one round trip (`userScopeRoundTrip`).
    @discardableResult
    public func userScopeStatement(claimsJSON: String, readOnly: Bool = false, _ statement: SQL) throws -> [PostgresRow] {
        try userScopeRoundTrip(claimsJSON: claimsJSON, readOnly: readOnly, [statement]).first ?? []
    }

    /// One read in the shared read scope (`withSharedReadScope`), its transaction in one round trip.
    public func sharedReadStatement(_ statement: SQL) throws -> [PostgresRow] {
        try oneRoundTrip(readOnly: true, setup: [Self.sharedReadScope], [statement]).first ?? []
    }

    /// One statement as the service role, its transaction in one round trip.
    @discardableResult
    public func serviceRoleStatement(_ statement: SQL) throws -> [PostgresRow] {
        try serviceRoleRoundTrip([statement]).first ?? []
    }
}

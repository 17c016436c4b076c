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
        let asynchronous: [SQL] = asynchronousCommit ? [Self.asynchronousCommit] : []
        return try oneRoundTrip(readOnly: false, setup: [Self.serviceRoleScope] + asynchronous, statements)
    }

    func oneRoundTrip(readOnly: Bool, setup: [SQL], _ statements: [SQL]) throws -> [[PostgresRow]] {
        let outcome = try pipelinedTransactions(readOnly: readOnly, setup: setup, [statements])
        if let failure = outcome.failure { throw failure.error }
        return outcome.committed.first ?? []
    }

    /// `transactions` in one pipeline, each with its BEGIN, `setup` and COMMIT: what `oneRoundTrip`
    /// (one transaction) and `userScopeTransactions` (several) send. A failure of a read-only run is
    /// thrown as it came, so a connection found broken at the first BEGIN is tried again on a fresh
    /// one; a failure of a write is answered with the transaction it broke, and tried again only when
    /// the server had ended the connection before running anything (below).
    private func pipelinedTransactions(readOnly: Bool, setup: [SQL], _ transactions: [[SQL]],
                                       unanswered: [[SQL]] = []) throws -> TransactionsOutcome {
        let run = {
            try self.withConnection { connection -> TransactionsOutcome in
                // A pooled connection whose server went away (a restart) shows it without a round
                // trip: found here, nothing was sent, so trying again on a fresh one is safe. A
                // read-only run needs no look (a read of the socket, one system call in six of a
                // listed page): its dead connection fails at BEGIN and the run is tried again anyway.
                guard readOnly || connection.closedByServer == false else {
                    throw DatabaseError(step: .begin, sqlState: nil, serverMessage: "pooled connection closed by the server")
                }
                var statements: [(sql: SQL, step: DatabaseError.Step)] = []
                var allBodies: [Range<Int>] = []
                for body in transactions + unanswered {
                    statements.append((readOnly ? "begin read only" : "begin", statements.isEmpty ? .begin : .statement))
                    statements += setup.map { (sql: $0, step: DatabaseError.Step.statement) }
                    let start = statements.count
                    statements += body.map { (sql: $0, step: DatabaseError.Step.statement) }
                    allBodies.append(start..<statements.count)
                    statements.append(("commit", .commit))
                }
                // The unanswered transactions' results are read by the connection's next use.
                let answering = unanswered.isEmpty ? nil : (allBodies.prefix(transactions.count).last.map { $0.upperBound + 1 } ?? 0)
                let outcome = connection.pipeline(statements, answering: answering)
                let bodies = Array(allBodies.prefix(transactions.count))
                guard let (failedIndex, error) = outcome.failure else {
                    return TransactionsOutcome(committed: bodies.map { Array(outcome.rows[$0]) }, failure: nil)
                }
                // The server skipped the rest of the pipeline; the transaction is open in error.
                if connection.isInTransaction { _ = try? connection.query("rollback", step: .rollback) }
                // Sent, COMMIT included: a write may have committed before the connection broke,
                // so only a read-only transaction may be tried again, or a write whose first BEGIN
                // was answered with the server's own goodbye (57P01, sent as its backend was ended
                // while idle in the pool). The server answers in order and flushes what it wrote
                // before that message, so nothing after BEGIN ran. A bare broken connection proves
                // nothing (a backend killed outright loses answers it had not flushed) and is not
                // sent again.
                if readOnly || (failedIndex == 0 && error.endedByAdministrator) { throw error }
                // Each body's upper bound is its COMMIT's index.
                let failed = bodies.firstIndex { failedIndex <= $0.upperBound } ?? 0
                let written = DatabaseError(step: error.step == .begin ? .statement : error.step, sqlState: error.sqlState,
                                            serverMessage: error.serverMessage)
                return TransactionsOutcome(committed: bodies.prefix(failed).map { Array(outcome.rows[$0]) }, failure: (failed, written))
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
    /// which one failed (as for every write, nothing is sent again).
    public func userScopeTransactions(claimsJSON: String, _ transactions: [[SQL]]) throws -> TransactionsOutcome {
        try pipelinedTransactions(readOnly: false, setup: [Self.userScope(claimsJSON: claimsJSON)], transactions)
    }

    /// `transactions` as `userScopeTransactions` runs them, then `unanswered` in the same pipeline,
    /// each its own transaction, whose results are not waited for: the call returns once the last of
    /// `transactions` has committed, and the connection's next use reads the rest (dropping a failure
    /// of theirs, and rolling back the transaction it broke). For work whose outcome changes no answer
    /// (an attempt's report after the generation ended), so it adds nothing to the answer's latency;
    /// they run only when every transaction before them committed.
    public func userScopeTransactions(claimsJSON: String, _ transactions: [[SQL]], unanswered: [[SQL]]) throws -> TransactionsOutcome {
        try pipelinedTransactions(readOnly: false, setup: [Self.userScope(claimsJSON: claimsJSON)], transactions, unanswered: unanswered)
    }

    /// A statement that makes its transaction's COMMIT return without waiting for the WAL flush
    /// (`synchronous_commit = off` for that transaction only). PostgreSQL writes and flushes the WAL
    /// in order, so a later transaction's synchronous COMMIT makes this one durable too: in
    /// `userScopeTransactions`, a transaction followed by a synchronous one loses nothing by it when
    /// the caller acts only on the whole pipeline's answer, and a wait for the disk (a few ms here)
    /// is saved. Also for writes whose loss in a crash of PostgreSQL is harmless (health and rate
    /// observations); the caller must argue which.
    public static let asynchronousCommit: SQL = "select set_config('synchronous_commit', 'off', true)"
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

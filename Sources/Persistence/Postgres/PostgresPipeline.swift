import CLibPQ

extension PostgresConnection {
    /// Sends `statements` together and reads their results in one round trip (libpq's pipeline
    /// mode), as if each had been run with `query` in turn: the rows of each, or the first failure
    /// at that statement's step with the index of the statement it belongs to (0 when libpq itself
    /// failed to send). Statements after a failed one are not run (the server skips them until the
    /// pipeline's sync point).
    ///
    /// A request's transaction was four round trips to PostgreSQL (BEGIN, the role and claims, the
    /// statement, COMMIT), each a wake-up of both processes; sending the first three together makes
    /// it two. Blocking mode is safe here because a few small statements fit libpq's and the
    /// kernel's buffers: nothing waits for the server to read before we read its answers.
    ///
    /// Each statement text is parsed and planned by PostgreSQL once per connection: the first use
    /// sends its Parse under a name in the same pipeline, later uses bind that name
    /// (`PreparedStatements`); a statement's rows and failures are the same either way.
    ///
    /// `answering`: how many of the statements (from the first) the caller waits for. When they all
    /// succeed, the rest are left running and their results unread (`unreadTail`): the connection's
    /// next use reads them first (`readTail`), so work whose outcome nobody waits for (an attempt's
    /// report after its end) adds nothing to the answer's latency. After a failure everything is read.
    func pipeline(_ statements: [(sql: SQL, step: DatabaseError.Step)], answering: Int? = nil) -> PipelineOutcome {
        guard let firstStep = statements.first?.step else { return PipelineOutcome(rows: [], failure: nil) }
        readTail()
        DatabaseRoundTrips.add()
        guard PQenterPipelineMode(handle) == 1 else {
            return PipelineOutcome(rows: [], failure: (0, connectionError(step: firstStep)))
        }
        var sent = 0
        var failure: (index: Int, error: DatabaseError)?
        // Statements whose Parse travels in this pipeline: named once their Parse succeeded.
        var preparing: [Int: (text: String, name: String)] = [:]
        var pendingNames: [String: String] = [:]
        for (index, (sql, step)) in statements.enumerated() {
            let (text, parameters) = sql.render()
            var queued: Int32 = 1
            let name: String?
            if let known = preparedStatements.name(of: text) ?? pendingNames[text] {
                name = known
            } else if let fresh = preparedStatements.nameForNew() {
                queued = PQsendPrepare(handle, fresh, text, Int32(parameters.count), nil)
                preparing[index] = (text, fresh)
                pendingNames[text] = fresh
                name = fresh
            } else {
                name = nil
            }
            if queued == 1 {
                queued = withOptionalCStrings(parameters) { pointers in
                    if let name {
                        return PQsendQueryPrepared(handle, name, Int32(parameters.count), pointers, nil, nil, 0)
                    }
                    return PQsendQueryParams(handle, text, Int32(parameters.count), nil, pointers, nil, nil, 0)
                }
            }
            // The server sends its results only at the sync point unless asked sooner: the answered
            // statements' results are flushed as soon as they are done, before the tail runs.
            if queued == 1, let answering, index == answering - 1, answering < statements.count {
                queued = PQsendFlushRequest(handle)
            }
            guard queued == 1 else {
                failure = (0, connectionError(step: step))
                break
            }
            sent += 1
        }
        if PQpipelineSync(handle) != 1, failure == nil { failure = (0, connectionError(step: firstStep)) }
        var results: [[PostgresRow]] = []
        results.reserveCapacity(sent)
        for index in 0..<sent {
            if let answering, index >= answering, failure == nil {
                // The rest is read by the connection's next use; the caller has what it waits for.
                unreadTail = UnreadTail(steps: statements[index..<sent].map(\.step),
                                        preparing: preparing.filter { $0.key >= index }.reduce(into: [:]) { $0[$1.key - index] = $1.value })
                return PipelineOutcome(rows: results, failure: nil)
            }
            let step = statements[index].step
            if let parse = preparing[index] {
                // The Parse's own result comes first; the statement is named only once it succeeded
                // (an aborted or failed Parse leaves nothing on the server).
                guard let result = PQgetResult(handle) else {
                    if failure == nil { failure = (index, connectionError(step: step)) }
                    break
                }
                if PQresultStatus(result) == PGRES_COMMAND_OK {
                    preparedStatements.remember(parse.text, as: parse.name)
                } else if PQresultStatus(result) != PGRES_PIPELINE_ABORTED, failure == nil, let error = self.failure(of: result, step: step) {
                    failure = (index, error)
                }
                PQclear(result)
                while let extra = PQgetResult(handle) { PQclear(extra) }
            }
            // Each statement's answer is one result, then NULL; a broken connection gives NULL at once.
            guard let result = PQgetResult(handle) else {
                if failure == nil { failure = (index, connectionError(step: step)) }
                break
            }
            do {
                if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                    PQclear(result)
                    results.append([])
                } else {
                    // The rows own the result from here (or it is cleared).
                    results.append(try takeRows(of: result, step: step))
                }
            } catch let error as DatabaseError {
                if error.sqlState == PreparedStatements.planChangedState { preparedStatements.isStale = true }
                if failure == nil { failure = (index, error) }
                results.append([])
            } catch {
                // `takeRows(of:step:)` throws only `DatabaseError`.
                results.append([])
            }
            while let extra = PQgetResult(handle) { PQclear(extra) }
        }
        // The sync point's own result, then out of pipeline mode. A connection left in pipeline mode
        // (it broke half way) is never lent again: the pool checks `isInTransaction`.
        if let sync = PQgetResult(handle) { PQclear(sync) }
        if PQexitPipelineMode(handle) != 1, failure == nil { failure = (0, connectionError(step: firstStep)) }
        return PipelineOutcome(rows: results, failure: failure)
    }
}

extension PostgresConnection {
    /// Reads the results of the statements a pipeline left unread (`pipeline(_:answering:)`), then its
    /// sync point, and leaves pipeline mode. A failure among them is dropped, as their caller asked,
    /// and the transaction it broke is rolled back, so the connection is lent again in a clean state;
    /// a connection that broke meanwhile is left broken (the pool drops it).
    func readTail() {
        guard let tail = unreadTail else { return }
        unreadTail = nil
        for index in tail.steps.indices {
            if let parse = tail.preparing[index] {
                guard let result = PQgetResult(handle) else { return }
                if PQresultStatus(result) == PGRES_COMMAND_OK { preparedStatements.remember(parse.text, as: parse.name) }
                PQclear(result)
                while let extra = PQgetResult(handle) { PQclear(extra) }
            }
            guard let result = PQgetResult(handle) else { return }
            if PQresultStatus(result) == PGRES_FATAL_ERROR,
               PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map({ String(cString: $0) }) == PreparedStatements.planChangedState {
                preparedStatements.isStale = true
            }
            PQclear(result)
            while let extra = PQgetResult(handle) { PQclear(extra) }
        }
        if let sync = PQgetResult(handle) { PQclear(sync) }
        guard PQexitPipelineMode(handle) == 1 else { return }
        if isInTransaction { _ = try? query("rollback", step: .rollback) }
    }
}

/// Statements a pipeline sent whose results are not read yet: their steps in order, and those whose
/// Parse travelled with them (by position in the tail), named once it succeeded.
struct UnreadTail {
    let steps: [DatabaseError.Step]
    let preparing: [Int: (text: String, name: String)]
}

/// What `pipeline` answers: each statement's rows (empty for one not run), and the first failure
/// with the index of its statement.
struct PipelineOutcome {
    let rows: [[PostgresRow]]
    let failure: (index: Int, error: DatabaseError)?
}

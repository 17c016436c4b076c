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
    func pipeline(_ statements: [(sql: SQL, step: DatabaseError.Step)]) -> PipelineOutcome {
        guard let firstStep = statements.first?.step else { return PipelineOutcome(rows: [], failure: nil) }
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

/// What `pipeline` answers: each statement's rows (empty for one not run), and the first failure
/// with the index of its statement.
struct PipelineOutcome {
    let rows: [[PostgresRow]]
    let failure: (index: Int, error: DatabaseError)?
}

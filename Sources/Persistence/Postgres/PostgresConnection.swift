import CLibPQ
import Foundation

/// One blocking libpq connection. Not thread-safe: the pool lends it to one thread at a time,
/// which is what makes the `@unchecked Sendable` sound.
public final class PostgresConnection: @unchecked Sendable {
    let handle: OpaquePointer
    /// The statements that open the transaction lent with this connection (BEGIN, the scope's
    /// role and claims), sent together with its first statement; see `Transaction`.
    var openingStatements: [(sql: SQL, step: DatabaseError.Step)] = []
    /// Set when one of `openingStatements` failed: the transaction never properly opened.
    var openingFailure: DatabaseError?
    /// The statements PostgreSQL has parsed under a name on this connection's session.
    var preparedStatements = PreparedStatements()
    /// Statements of the last pipeline still running or unread (`pipeline(_:answering:)`).
    var unreadTail: UnreadTail?

    /// Opens a connection. `url` is a libpq connection URI or key/value string.
    public init(url: String, connectTimeoutSeconds: Int = 5, applicationName: String = "apiserver") throws {
        // Later keywords override earlier ones, and `dbname` is expanded from the URL first,
        // so the session settings below always win: every timestamp arrives as ISO text in UTC.
        let keywords = ["dbname", "connect_timeout", "application_name", "options"]
        let values = [url, String(connectTimeoutSeconds), applicationName, "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601"]
        let connection = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw DatabaseError(step: .connect, sqlState: nil, serverMessage: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            throw DatabaseError(step: .connect, sqlState: nil, serverMessage: message)
        }
        handle = connection
    }

    deinit {
        PQfinish(handle)
    }

    /// False once libpq has noticed the connection is gone (server restart, network cut).
    /// A connection whose named statements no longer match the schema (a migration changed what
    /// one returns) is not healthy either: the pool closes it, and with it its statements.
    public var isHealthy: Bool {
        PQstatus(handle) == CONNECTION_OK && !preparedStatements.isStale
    }

    /// Whether an idle connection's server has closed it (a restart): reads what is pending
    /// without blocking, so libpq notices an end of stream; no round trip.
    var closedByServer: Bool {
        _ = PQconsumeInput(handle)
        return PQstatus(handle) != CONNECTION_OK
    }

    /// True while a transaction is open or failed (not idle), or a pipeline was left open by a
    /// failure: a returned connection must never be either.
    var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
            || PQpipelineStatus(handle) != PQ_PIPELINE_OFF
    }

    /// Runs one statement with bound parameters and returns every row.
    @discardableResult
    public func query(_ sql: SQL, step: DatabaseError.Step = .statement) throws -> [PostgresRow] {
        readTail()
        let (text, parameters) = sql.render()
        DatabaseRoundTrips.add()
        let result: OpaquePointer? = withOptionalCStrings(parameters) { pointers in
            PQexecParams(handle, text, Int32(parameters.count), nil, pointers, nil, nil, 0)
        }
        return try consume(result, step: step)
    }

    /// Runs a script of several statements with no parameters (migration files only).
    public func executeScript(_ sql: SQL) throws {
        let (text, parameters) = sql.render()
        precondition(parameters.isEmpty, "scripts cannot carry parameters")
        readTail()
        try consume(PQexec(handle, text), step: .statement)
    }

    @discardableResult
    private func consume(_ result: OpaquePointer?, step: DatabaseError.Step) throws -> [PostgresRow] {
        guard let result else { throw connectionError(step: step) }
        return try takeRows(of: result, step: step)
    }

    /// The rows of `result`, which this call takes over: its rows keep it alive (`PostgresRowText`,
    /// no copy of the values), or it is cleared here. A failure becomes a `DatabaseError` at `step`.
    func takeRows(of result: OpaquePointer, step: DatabaseError.Step) throws -> [PostgresRow] {
        guard PQresultStatus(result) == PGRES_TUPLES_OK else {
            defer { PQclear(result) }
            if let failure = failure(of: result, step: step) { throw failure }
            return []
        }
        let text = PostgresRowText(taking: result)
        return (0..<text.rowCount).map { PostgresRow(text: text, row: $0) }
    }

    /// A result's failure as a `DatabaseError` at `step`, or nil for a success; libpq still owns it.
    func failure(of result: OpaquePointer, step: DatabaseError.Step) -> DatabaseError? {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_TUPLES_OK:
            return nil
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = String(cString: PQresultErrorMessage(result))
            return DatabaseError(step: step, sqlState: state, serverMessage: message)
        }
    }

    /// libpq's last error on this connection, as a failure at `step` (no SQLSTATE: the connection's).
    func connectionError(step: DatabaseError.Step) -> DatabaseError {
        DatabaseError(step: step, sqlState: nil, serverMessage: String(cString: PQerrorMessage(handle)))
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the duration of the call.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicated = strings.map { strdup($0) }
    defer { duplicated.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = duplicated.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Like `withCStringArray`, but a nil element stays a NULL pointer (SQL NULL for libpq). Every
/// string is copied into one buffer (on the stack when small): a `strdup` per parameter and an
/// array of them were a visible share of sending a short statement. A string holding a NUL reads,
/// as with `strdup`, up to that NUL.
func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    if strings.isEmpty { return body(nil) }
    var total = 0
    for string in strings { total += (string?.utf8.count).map { $0 + 1 } ?? 0 }
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(total, 1)) { text in
        withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: strings.count) { pointers in
            var offset = 0
            for (index, string) in strings.enumerated() {
                guard var string else {
                    pointers.initializeElement(at: index, to: nil)
                    continue
                }
                let start = offset
                string.withUTF8 { utf8 in
                    _ = UnsafeMutableBufferPointer(rebasing: text[offset..<(offset + utf8.count)]).initialize(from: utf8)
                    offset += utf8.count
                }
                text.initializeElement(at: offset, to: 0)
                offset += 1
                pointers.initializeElement(at: index, to: text.baseAddress.map { UnsafeRawPointer($0 + start).assumingMemoryBound(to: CChar.self) })
            }
            return body(UnsafePointer(pointers.baseAddress))
        }
    }
}

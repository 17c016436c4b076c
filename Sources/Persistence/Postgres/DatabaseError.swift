/// A database failure. Its `description` is deliberately generic so that it can never leak a
/// statement, a value or a server message to a client; the SQLSTATE is kept for mapping to HTTP,
/// and the server's own text is available only through `debugDescription`, for server logs.
public struct DatabaseError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    public enum Step: String, Sendable {
        case connect, acquire, begin, statement, commit, rollback
    }

    public let step: Step
    /// Five-character SQLSTATE when the server sent one (e.g. `23505`, `42501`).
    public let sqlState: String?
    /// The server's or libpq's message. Never shown to clients.
    public let serverMessage: String

    public init(step: Step, sqlState: String?, serverMessage: String) {
        self.step = step
        self.sqlState = sqlState
        self.serverMessage = serverMessage
    }

    /// True when the failure means the database could not be reached or the connection broke,
    /// as opposed to a statement the database refused.
    public var isConnectionFailure: Bool {
        switch step {
        case .connect, .acquire: return true
        default:
            // Class 08: connection exception; 57P01..57P03: admin shutdown, crash shutdown, cannot connect now.
            guard let state = sqlState else { return true }
            return state.hasPrefix("08") || endedByAdministrator || state == "57P02" || state == "57P03"
        }
    }

    /// 57P01 admin_shutdown: the server's own goodbye as it ended this backend (a terminate, a
    /// stop). It is sent in order after everything the backend had answered before.
    public var endedByAdministrator: Bool { sqlState == "57P01" }

    public var description: String {
        "database error at \(step.rawValue)" + (sqlState.map { " (SQLSTATE \($0))" } ?? "")
    }

    public var debugDescription: String {
        description + ": " + serverMessage
    }
}

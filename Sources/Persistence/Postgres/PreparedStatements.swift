/// The statement texts one connection has prepared on its server session, by name.
///
/// Parsing and planning a statement is a large share of PostgreSQL's work for the short statements
/// a request sends (the ledger functions, a list with its join): a named statement is parsed once
/// per connection and its plan cached by PostgreSQL, which also re-plans it when a table or
/// function it uses changes. Our statement texts are constants of the code with every value bound,
/// so a connection sees a small, fixed set; the bound keeps a text built per request (if one ever
/// appears) from growing the session without end: past it, statements go unnamed as before.
struct PreparedStatements {
    /// More than the distinct texts the server sends today (about 150).
    static let limit = 512
    /// `cached plan must not change result type`: a migration changed a named statement's result.
    static let planChangedState = "0A000"

    private var names: [String: String] = [:]
    private var nextNumber = 0
    /// Set when PostgreSQL refused a named statement whose result changed: the connection is retired.
    var isStale = false

    /// The texts last found, compared before any hashing: a request sends the same few texts
    /// (BEGIN, its scope, its statement, COMMIT), and hashing a kilobyte of list statement for
    /// each was a visible share of sending it; comparing stops at the first differing length or byte.
    private var recent: [(text: String, name: String)] = []
    private var nextRecent = 0
    static let recentLimit = 8

    mutating func name(of text: String) -> String? {
        for entry in recent where entry.text == text { return entry.name }
        guard let name = names[text] else { return nil }
        if recent.count < Self.recentLimit {
            recent.append((text, name))
        } else {
            recent[nextRecent] = (text, name)
            nextRecent = (nextRecent + 1) % Self.recentLimit
        }
        return name
    }

    /// A name for a text about to be prepared, or nil when the bound is reached.
    mutating func nameForNew() -> String? {
        guard names.count < Self.limit else { return nil }
        nextNumber += 1
        return "s\(nextNumber)"
    }

    mutating func remember(_ text: String, as name: String) {
        names[text] = name
    }
}

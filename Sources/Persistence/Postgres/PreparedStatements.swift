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

    private var names: [StatementText: String] = [:]
    private var nextNumber = 0
    /// Set when PostgreSQL refused a named statement whose result changed: the connection is retired.
    var isStale = false

    func name(of text: String) -> String? {
        names[StatementText(text)]
    }

    /// A name for a text about to be prepared, or nil when the bound is reached.
    mutating func nameForNew() -> String? {
        guard names.count < Self.limit else { return nil }
        nextNumber += 1
        return "s\(nextNumber)"
    }

    mutating func remember(_ text: String, as name: String) {
        names[StatementText(text)] = name
    }
}

/// A statement's text as a dictionary key hashed from its length and its first and last bytes only:
/// a generation sends about thirty texts of up to a few kilobytes, and hashing each whole (SipHash)
/// was a twentieth of the server's instructions per chat completion (callgrind). Texts that differ
/// only in the middle share a hash and are told apart by the full comparison, which is exact.
struct StatementText: Hashable {
    let text: String
    static let sampled = 48

    init(_ text: String) {
        self.text = text
    }

    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { bytes in
            hasher.combine(bytes.count)
            let raw = UnsafeRawBufferPointer(bytes)
            let head = Swift.min(Self.sampled, raw.count)
            let tail = Swift.min(Self.sampled, raw.count - head)
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: raw[..<head]))
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: raw[(raw.count - tail)...]))
        }
    }

    static func == (left: StatementText, right: StatementText) -> Bool {
        left.text == right.text
    }
}

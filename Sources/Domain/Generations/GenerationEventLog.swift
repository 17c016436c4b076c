import Foundation

/// One stored lifecycle event, as the event streams send it. `id` is the events table's identity,
/// taken when the row is written: it orders one generation's events (their transactions take the
/// generation's row lock in turn), but transactions commit in their own order, so a user's stream
/// over many generations goes by `position` instead.
public struct StoredGenerationEvent: Sendable, Equatable {
    public let id: Int64
    /// The transaction that wrote it (PostgreSQL's `xid8`; 0 for events written before the column).
    public let transaction: UInt64
    public let generationID: UUID
    public let projectID: UUID
    public let type: String
    /// The payload as stored: a JSON object's text.
    public let payloadJSON: String
    public let createdAt: Date

    public init(id: Int64, transaction: UInt64 = 0, generationID: UUID, projectID: UUID, type: String, payloadJSON: String, createdAt: Date) {
        self.id = id
        self.transaction = transaction
        self.generationID = generationID
        self.projectID = projectID
        self.type = type
        self.payloadJSON = payloadJSON
        self.createdAt = createdAt
    }

    /// The last event a generation ever gets.
    public var isTerminal: Bool {
        GenerationStatus(rawValue: type)?.isTerminal ?? false
    }

    public var position: GenerationEventPosition { GenerationEventPosition(transaction: transaction, id: id) }
}

/// A place in a user's stream over many generations: events sort by the transaction that wrote
/// them, then by id. A stream sends only events of transactions older than every one still
/// running, so whatever commits later sorts after all it sent, and a cursor never skips one.
public struct GenerationEventPosition: Sendable, Hashable, Comparable {
    public var transaction: UInt64
    public var id: Int64

    public init(transaction: UInt64, id: Int64) {
        self.transaction = transaction
        self.id = id
    }

    /// Before every event.
    public static let start = GenerationEventPosition(transaction: 0, id: 0)

    public static func < (a: Self, b: Self) -> Bool {
        (a.transaction, a.id) < (b.transaction, b.id)
    }

    /// The SSE `id:` of a user stream's event, `<event id>.<transaction>`, which a resume sends back.
    public var text: String { "\(id).\(transaction)" }

    /// `text` read back; nil unless it is exactly that shape (1–19 and 1–20 digits).
    public init?(text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              parts[0].count <= 19, parts[1].count <= 20, let id = Int64(parts[0]), let transaction = UInt64(parts[1])
        else { return nil }
        self.init(transaction: transaction, id: id)
    }
}

/// A page of a user's stream: the events it may send, and whether events after them are held back
/// because a transaction older than theirs is still running (the stream looks again soon).
public struct SettledGenerationEvents: Sendable, Equatable {
    public var events: [StoredGenerationEvent]
    public var withheld: Bool

    public init(events: [StoredGenerationEvent], withheld: Bool) {
        self.events = events
        self.withheld = withheld
    }
}

/// What the event streams of a process watch for other processes' events: the highest event id,
/// and the oldest transaction still running (an event becomes sendable when that moves past it).
public struct GenerationEventLogMark: Sendable, Equatable {
    public var latestID: Int64
    public var horizon: UInt64

    public init(latestID: Int64, horizon: UInt64) {
        self.latestID = latestID
        self.horizon = horizon
    }
}

/// Which events a stream reads.
public struct GenerationEventScope: Sendable, Equatable {
    /// One generation's events, or every generation of the caller.
    public var generationID: UUID?
    public var projectID: UUID?

    public init(generationID: UUID? = nil, projectID: UUID? = nil) {
        self.generationID = generationID
        self.projectID = projectID
    }
}

/// Reads the events the engine appends (it writes them with each state change).
public protocol GenerationEventLog: Sendable {
    /// One generation's events (`scope.generationID`) with an id above `after`, oldest first, at most `limit`.
    func events(_ scope: GenerationEventScope, after: Int64, limit: Int, claimsJSON: String) throws -> [StoredGenerationEvent]
    /// The caller's events in `scope` (many generations) after `after`, in position order, at most
    /// `limit`, stopping before the first one a still-running older transaction may yet precede.
    func settledEvents(_ scope: GenerationEventScope, after: GenerationEventPosition, limit: Int, claimsJSON: String) throws
        -> SettledGenerationEvents
    /// Where a user stream resumes after the caller's event `id` (a plain event id, as one
    /// generation's stream sends): that event's position, or, when it no longer exists, after
    /// everything already sendable.
    func position(afterEvent id: Int64, claimsJSON: String) throws -> GenerationEventPosition
    /// A cheap test of whether anything changed for the streams: any user's newest event id and
    /// the oldest running transaction.
    func mark() throws -> GenerationEventLogMark
}

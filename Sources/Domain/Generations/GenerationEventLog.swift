import Foundation

/// One stored lifecycle event, as the event streams send it. `id` is the events table's identity:
/// it increases across all generations, so one cursor orders a single generation's events and
/// every event of a user alike.
public struct StoredGenerationEvent: Sendable, Equatable {
    public let id: Int64
    public let generationID: UUID
    public let projectID: UUID
    public let type: String
    /// The payload as stored: a JSON object's text.
    public let payloadJSON: String
    public let createdAt: Date

    public init(id: Int64, generationID: UUID, projectID: UUID, type: String, payloadJSON: String, createdAt: Date) {
        self.id = id
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
    /// The caller's events in `scope` with an id above `after`, oldest first, at most `limit`.
    func events(_ scope: GenerationEventScope, after: Int64, limit: Int, claimsJSON: String) throws -> [StoredGenerationEvent]
    /// The highest event id of any user: a cheap test of whether another process wrote events.
    func latestEventID() throws -> Int64
}

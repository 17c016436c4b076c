import Domain
import Foundation

/// `GenerationEventLog` on `generation_events` (migrations 010, 191), read in the caller's scope (RLS).
public struct PostgresGenerationEventLog: GenerationEventLog {
    let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    public func events(_ scope: GenerationEventScope, after: Int64, limit: Int, claimsJSON: String) throws -> [StoredGenerationEvent] {
        // Each scope's own condition, not `($n is null or …)`: the statements are planned generically,
        // and only a plain condition lets the plan read one generation's events in id order from its
        // index (migration 187) instead of sorting all of them.
        var condition: SQL = "e.id > \(after)"
        if let generation = scope.generationID { condition = "\(condition) and e.generation_id = \(generation)" }
        if let project = scope.projectID { condition = "\(condition) and g.project_id = \(project)" }
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, """
                select e.id, e.tx, e.generation_id, g.project_id, e.type, e.payload::text as payload, e.created_at
                from public.generation_events e join public.generations g on g.id = e.generation_id
                where \(condition) and e.user_id = (select auth.uid())
                order by e.id limit \(limit)
                """)
        return try rows.map(Self.event)
    }

    /// In (tx, id) order from the user's index (migration 191). An event is sendable once its
    /// transaction is older than the oldest one still running (`pg_snapshot_xmin`): a transaction
    /// that commits later has an id at least that, so it sorts after everything sent. The rows past
    /// the first that is not are read only to say that something is held back.
    public func settledEvents(_ scope: GenerationEventScope, after: GenerationEventPosition, limit: Int,
                              claimsJSON: String) throws -> SettledGenerationEvents {
        var condition: SQL = "(e.tx, e.id) > (\(String(after.transaction))::xid8, \(after.id))"
        if let project = scope.projectID { condition = "\(condition) and g.project_id = \(project)" }
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, """
                select e.id, e.tx, e.generation_id, g.project_id, e.type, e.payload::text as payload, e.created_at,
                       e.tx < h.horizon as settled
                from public.generation_events e join public.generations g on g.id = e.generation_id,
                     (select pg_snapshot_xmin(pg_current_snapshot()) as horizon) h
                where \(condition) and e.user_id = (select auth.uid())
                order by e.tx, e.id limit \(limit)
                """)
        var events: [StoredGenerationEvent] = []
        for row in rows {
            guard try row.decode("settled", as: Bool.self) else { return SettledGenerationEvents(events: events, withheld: true) }
            events.append(try Self.event(row))
        }
        return SettledGenerationEvents(events: events, withheld: false)
    }

    public func position(afterEvent id: Int64, claimsJSON: String) throws -> GenerationEventPosition {
        guard id > 0 else { return .start }
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, """
                select (select e.tx from public.generation_events e where e.id = \(id) and e.user_id = (select auth.uid())) as tx,
                       (select max(e.id) from public.generation_events e where e.user_id = (select auth.uid()) and e.tx = '0') as last_before,
                       pg_snapshot_xmin(pg_current_snapshot()) as horizon
                """)
        guard let row = rows.first else { return .start }
        if let tx: UInt64 = try row.decodeIfPresent("tx") { return GenerationEventPosition(transaction: tx, id: id) }
        // Gone (its generation was deleted). An id from before migration 191 stands among the events
        // kept in id order (tx 0), so what came after it is still sent; any other resumes after
        // everything a stream could have sent.
        if let lastBefore: Int64 = try row.decodeIfPresent("last_before"), id <= lastBefore {
            return GenerationEventPosition(transaction: 0, id: id)
        }
        let horizon: UInt64 = try row.decode("horizon")
        return GenerationEventPosition(transaction: max(horizon, 1) - 1, id: .max)
    }

    public func mark() throws -> GenerationEventLogMark {
        // Across users by nature (it only says whether anything changed); the streams then read as
        // their own users.
        let rows = try pool.serviceRoleStatement("""
            select coalesce(max(id), 0) as id, pg_snapshot_xmin(pg_current_snapshot()) as horizon from public.generation_events
            """)
        guard let row = rows.first else { return GenerationEventLogMark(latestID: 0, horizon: 0) }
        return GenerationEventLogMark(latestID: try row.decode("id"), horizon: try row.decode("horizon"))
    }

    private static func event(_ row: PostgresRow) throws -> StoredGenerationEvent {
        StoredGenerationEvent(id: try row.decode("id"), transaction: try row.decode("tx"),
                              generationID: try row.decode("generation_id"), projectID: try row.decode("project_id"),
                              type: try row.decode("type"), payloadJSON: try row.decode("payload"), createdAt: try row.decode("created_at"))
    }
}

import Domain
import Foundation

/// `GenerationEventLog` on `generation_events` (migration 010), read in the caller's scope (RLS).
public struct PostgresGenerationEventLog: GenerationEventLog {
    let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    /// With `settleSeconds > 0` only events written at least that long ago: ids come from one
    /// sequence, but two transactions can commit out of id order, so a stream over many
    /// generations waits until a lower id can no longer appear behind its cursor. One generation's
    /// events need no wait: its row lock orders their transactions.
    public func events(_ scope: GenerationEventScope, after: Int64, limit: Int, claimsJSON: String) throws -> [StoredGenerationEvent] {
        try events(scope, after: after, limit: limit, settleSeconds: scope.generationID == nil ? Self.crossGenerationSettleSeconds : 0,
                   claimsJSON: claimsJSON)
    }

    /// How old an event must be before a stream over many generations sends it (see `events`).
    public static let crossGenerationSettleSeconds = 1

    func events(_ scope: GenerationEventScope, after: Int64, limit: Int, settleSeconds: Int, claimsJSON: String) throws -> [StoredGenerationEvent] {
        // Each scope's own condition, not `($n is null or …)`: the statements are planned generically,
        // and only a plain condition lets the plan read one generation's events (or one user's) in
        // id order from its index (migration 187) instead of sorting all of them.
        var condition: SQL = "e.id > \(after)"
        if let generation = scope.generationID { condition = "\(condition) and e.generation_id = \(generation)" }
        if let project = scope.projectID { condition = "\(condition) and g.project_id = \(project)" }
        if settleSeconds > 0 { condition = "\(condition) and e.created_at <= now() - make_interval(secs => \(settleSeconds))" }
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, """
                select e.id, e.generation_id, g.project_id, e.type, e.payload::text as payload, e.created_at
                from public.generation_events e join public.generations g on g.id = e.generation_id
                where \(condition) and e.user_id = (select auth.uid())
                order by e.id limit \(limit)
                """)
        return try rows.map { row in
            StoredGenerationEvent(id: try row.decode("id"), generationID: try row.decode("generation_id"),
                                  projectID: try row.decode("project_id"), type: try row.decode("type"),
                                  payloadJSON: try row.decode("payload"), createdAt: try row.decode("created_at"))
        }
    }

    public func latestEventID() throws -> Int64 {
        // Across users by nature (it only says whether anything new was written); the streams
        // then read as their own users.
        let rows = try pool.serviceRoleStatement("select coalesce(max(id), 0) as id from public.generation_events")
        return try rows.first?.decode("id") ?? 0
    }
}

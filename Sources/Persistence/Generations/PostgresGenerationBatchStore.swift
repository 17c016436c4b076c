import Domain
import Foundation

/// `GenerationBatchStore` on the table of migration 060: reads in the user's scope (RLS), writes
/// through the `app_engine` batch functions only.
public struct PostgresGenerationBatchStore: GenerationBatchStore {
    let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    private static let columns: SQL = """
        b.id, b.user_id, b.project_id, b.status, b.estimate, b.charged, b.items::text as items, b.cancel_requested,
        b.created_at, b.finished_at
        """

    public func createBatch(id: UUID, projectID: UUID, estimate: Money, items: [BatchItemRef], claimsJSON: String) throws -> GenerationBatchRecord {
        let itemsJSON = try GenerationJSON.text(items)
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, """
                select \(Self.columns) from app_engine.create_batch(\(id), \(projectID), \(estimate.amount)::numeric, \(itemsJSON)::jsonb) b
                """)
        guard let row = rows.first else { throw DomainError.notFound(resource: "project") }
        return try Self.record(row)
    }

    public func batch(_ id: UUID, claimsJSON: String) throws -> GenerationBatchRecord? {
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true,
            "select \(Self.columns) from public.generation_batches b where b.id = \(id)")
        return try rows.first.map(Self.record)
    }

    public func batchID(containing generation: UUID, claimsJSON: String) throws -> UUID? {
        // Item ids are stored as Codable writes UUIDs (upper case): compared case-blind.
        let id = generation.lowercasedString
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, """
                select b.id from public.generation_batches b
                where exists (select 1 from jsonb_array_elements(b.items) item where lower(item->>'generation_id') = \(id))
                limit 1
                """)
        return try rows.first.map { try $0.decode("id", as: UUID.self) }
    }

    public func requestCancel(_ id: UUID, claimsJSON: String) throws -> GenerationBatchRecord? {
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, "select \(Self.columns) from app_engine.request_batch_cancel(\(id)) b")
        return try rows.first.map(Self.record)
    }

    public func endBatch(_ id: UUID, charged: Money, claimsJSON: String) throws -> GenerationBatchRecord? {
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON,
            "select \(Self.columns) from app_engine.end_batch(\(id), \(charged.amount)::numeric) b")
        return try rows.first.map(Self.record)
    }

    public func itemsAwaitingCharge(_ id: UUID, claimsJSON: String) throws -> Bool {
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, """
                select exists (select from public.generation_batches b
                               cross join lateral jsonb_array_elements(b.items) item
                               join public.generations i on i.id = (item->>'generation_id')::uuid
                               where b.id = \(id) and \(GenerationSQL.itemAwaitingCharge)) as awaiting
                """)
        return try rows.first?.decode("awaiting", as: Bool.self) ?? false
    }

    public func reservationEnded(_ id: UUID, claimsJSON: String) throws -> Bool {
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, """
                select exists (select from public.budget_ledger l
                               where l.generation_id = \(id) and l.kind in ('release', 'charge')) as ended
                """)
        return try rows.first?.decode("ended", as: Bool.self) ?? false
    }

    static func record(_ row: PostgresRow) throws -> GenerationBatchRecord {
        let text = try row.decode("status", as: String.self)
        guard let status = BatchStatus(rawValue: text) else {
            throw DatabaseError(step: .statement, sqlState: nil, serverMessage: "unexpected batch status \(text)")
        }
        return GenerationBatchRecord(
            id: try row.decode("id"), userID: try row.decode("user_id"), projectID: try row.decode("project_id"), status: status,
            estimate: Money(roundingToMaximumScale: try row.decode("estimate", as: Decimal.self)),
            charged: try row.decodeIfPresent("charged", as: Decimal.self).map(Money.init(roundingToMaximumScale:)),
            items: try GenerationJSON.decode([BatchItemRef].self, try row.decode("items")),
            cancelRequested: try row.decode("cancel_requested"), createdAt: try row.decode("created_at"),
            finishedAt: try row.decodeIfPresent("finished_at"))
    }
}

import Domain
import Foundation

/// `AssetStore` on the tables of migrations 010 and 070. Reads run in the user's scope (RLS);
/// every write is a call of an `app_engine` function. Blob keys are per user (`BlobKey`, checked by
/// the table since migration 120); reference checks run as the service role, under a per-key
/// advisory lock that uploads of the same content take too.
public struct PostgresAssetStore: AssetStore {
    let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    /// The advisory lock that orders "store this blob and name it" against "nothing names it, delete it".
    static func lockKey(_ storageKey: String) -> SQL {
        "select pg_advisory_xact_lock(hashtextextended(\(storageKey), 17))"
    }

    public func createUpload(project: UUID, claimsJSON: String, quota: StorageQuota, put: () throws -> NewUpload,
                             stillStored: (String) throws -> Bool) throws -> Asset {
        // The project first: an unknown project fails before any bytes are placed.
        try requireProject(project, claimsJSON: claimsJSON)
        // The blob is stored before the transaction opens: a copy of 500 MB (or its upload to S3)
        // would otherwise hold a pooled connection, which every request shares, for as long as it took.
        let upload = try put()
        return try pool.withUserScope(claimsJSON: claimsJSON) { transaction in
            // Deleted meanwhile: the caller removes the blob it placed. Held (FOR KEY SHARE) until the
            // row is written, so a delete arriving meanwhile waits instead of failing the insert.
            try requireProject(project, in: transaction, locking: true)
            if quota.bytes != nil {
                // One of the user's uploads at a time from here to its commit, so two cannot both fit
                // in the same room. Taken before the blob key's lock, which no one holds while taking this.
                try transaction.query(UserLocks.lock("storage quota"))
                try quota.check(used: try Self.storedBytes(in: transaction), adding: upload.blob.bytes)
            }
            try transaction.query(Self.lockKey(upload.blob.key))
            // A delete of the last other asset with these bytes may have removed the blob between put and lock.
            guard try stillStored(upload.blob.key) else {
                throw DomainError.unavailable(code: "storage_conflict", detail: "The same content was being deleted; send the upload again.")
            }
            let created: [PostgresRow]
            do {
                created = try transaction.query("""
                select id from app_engine.create_upload(\(upload.id), \(upload.projectID), \(upload.kind.rawValue), \(upload.contentType),
                    \(upload.blob.bytes), \(upload.blob.sha256), \(upload.blob.key), \(upload.name), \(upload.originalFilename),
                    \(upload.metadata.width), \(upload.metadata.height), \(upload.metadata.durationMilliseconds),
                    \(upload.metadata.previewText), \(upload.thumbnailState.rawValue), \(AssetSQL.uuidArray(upload.parents))::uuid[])
                """)
            } catch let error as DatabaseError where error.sqlState == "P0002" {
                throw DomainError.notFound(resource: "parent asset")
            }
            guard created.count == 1 else { throw DomainError.notFound(resource: "asset") }
            guard let row = try transaction.query("select \(AssetSQL.columns) from \(AssetSQL.from) where a.id = \(upload.id)").first else {
                throw DomainError.notFound(resource: "asset")
            }
            return try AssetSQL.asset(row)
        }
    }

    public func storedBytes(claimsJSON: String) throws -> Int64 {
        try pool.withUserScope(claimsJSON: claimsJSON, readOnly: true) { transaction in try Self.storedBytes(in: transaction) }
    }

    /// An index-only scan of the caller's entries in assets_user_created_bytes_idx (migration 189).
    private static func storedBytes(in transaction: borrowing Transaction) throws -> Int64 {
        try transaction.query("""
            select coalesce(sum(a.bytes), 0)::bigint as used from public.assets a where a.user_id = (select auth.uid())
            """).first?.decode("used", as: Int64.self) ?? 0
    }

    private func requireProject(_ project: UUID, claimsJSON: String) throws {
        try pool.withUserScope(claimsJSON: claimsJSON, readOnly: true) { transaction in try requireProject(project, in: transaction) }
    }

    private func requireProject(_ project: UUID, in transaction: borrowing Transaction, locking: Bool = false) throws {
        let lock: SQL = locking ? " for key share" : ""
        guard try !transaction.query("select 1 from public.projects p where p.id = \(project)\(lock)").isEmpty else {
            throw DomainError.notFound(resource: "project")
        }
    }

    public func asset(_ id: UUID, claimsJSON: String) throws -> Asset? {
        let rows = try pool.withUserScope(claimsJSON: claimsJSON, readOnly: true) { transaction in
            try transaction.query("select \(AssetSQL.columns) from \(AssetSQL.from) where a.id = \(id)")
        }
        return try rows.first.map(AssetSQL.asset)
    }

    public func list(_ filter: AssetFilter, claimsJSON: String) throws -> AssetPage {
        var condition: SQL = "a.archived = \(filter.archived)"
        if let project = filter.projectID { condition = condition + " and a.project_id = \(project)" }
        if let kind = filter.kind { condition = condition + " and a.kind = \(kind.rawValue)" }
        if let tag = filter.tag { condition = condition + " and a.tags @> array[\(tag)]::text[]" }
        if let favourite = filter.favourite { condition = condition + " and a.favourite = \(favourite)" }
        if let after = filter.createdAfter { condition = condition + " and a.created_at >= \(after)" }
        if let before = filter.createdBefore { condition = condition + " and a.created_at < \(before)" }
        if let query = filter.query {
            condition = condition + """
                 and strpos(lower(coalesce(a.name, '') || ' ' || coalesce(a.description, '') || ' ' || coalesce(g.prompt, '')), lower(\(query))) > 0
                """
        }
        let ascending = filter.sort == .createdAsc
        if let cursor = filter.cursor {
            // The columns themselves, so that the (user_id, created_at, id) index bounds the scan
            // (an expression over created_at made every page walk from the first row).
            let position: SQL = "(timestamptz 'epoch' + \(cursor.createdMicroseconds)::bigint * interval '1 microsecond', \(cursor.id))"
            condition = condition + (ascending ? " and (a.created_at, a.id) > \(position)" : " and (a.created_at, a.id) < \(position)")
        }
        let order: SQL = ascending ? "a.created_at, a.id" : "a.created_at desc, a.id desc"
        let limit = filter.limit
        // The page ends early where its prompts and texts pass `ListedPages.maximumBytes` (the first
        // row always comes): the limited rows are sized first and only those within it are read.
        let bytes: SQL = """
            (coalesce(octet_length(g.prompt), 0) + coalesce(octet_length(a.description), 0) + coalesce(octet_length(a.preview_text), 0)
             + coalesce(octet_length(a.name), 0))
            """
        let rows = try pool.withUserScope(claimsJSON: claimsJSON, readOnly: true) { transaction in
            try transaction.query("""
                select \(AssetSQL.columns), sized.found from \(AssetSQL.from)
                join (select id, sum(bytes) over (order by position rows unbounded preceding) - bytes as bytes_before, count(*) over () as found
                      from (select a.id, \(bytes) as bytes, row_number() over (order by \(order)) as position
                            from \(AssetSQL.from) where \(condition) order by \(order) limit \(limit + 1)) limited) sized on sized.id = a.id
                where sized.bytes_before < \(ListedPages.maximumBytes) order by \(order)
                """)
        }
        let page = Array(rows.prefix(limit))
        var next: GenerationCursor?
        if let found = try rows.first?.decode("found", as: Int.self), found > page.count, let last = page.last {
            next = GenerationCursor(createdMicroseconds: try last.decode("created_key"), id: try last.decode("id"), ascending: ascending)
        }
        return try Self.listedRows.page(of: page[...], next: next, decode: AssetSQL.asset)
    }

    /// What the listing decoded lately, row by row (`ListedRowMemo`): at most 4 MiB.
    static let listedRows = ListedRowMemo<Asset>()

    public func update(_ id: UUID, expectedVersion: Int?, changes: AssetChanges, claimsJSON: String) throws -> Asset? {
        let json = try AssetSQL.changes(changes)
        return try pool.withUserScope(claimsJSON: claimsJSON) { transaction in
            guard try Self.apply(id, expectedVersion: expectedVersion, json: json, transaction) else { return nil }
            return try transaction.query("select \(AssetSQL.columns) from \(AssetSQL.from) where a.id = \(id)").first.map(AssetSQL.asset)
        }
    }

    public func bulkUpdate(_ ids: [UUID], changes: AssetChanges, claimsJSON: String) throws -> Result<[Asset], MissingAssets> {
        let json = try AssetSQL.changes(changes)
        do {
            return .success(try pool.withUserScope(claimsJSON: claimsJSON) { transaction in
                var missing: [UUID] = []
                for id in ids {
                    if try !Self.apply(id, expectedVersion: nil, json: json, transaction) { missing.append(id) }
                }
                // Throwing rolls every change back: all or nothing.
                if !missing.isEmpty { throw MissingAssets(ids: missing) }
                let rows = try transaction.query("""
                    select \(AssetSQL.columns) from \(AssetSQL.from) where a.id = any(\(AssetSQL.uuidArray(ids))::uuid[])
                    """)
                return try rows.map(AssetSQL.asset)
            })
        } catch let missing as MissingAssets {
            return .failure(missing)
        }
    }

    private static func apply(_ id: UUID, expectedVersion: Int?, json: String, _ transaction: borrowing Transaction) throws -> Bool {
        do {
            return try !transaction.query("select id from app_engine.update_asset(\(id), \(expectedVersion), \(json)::jsonb)").isEmpty
        } catch let error as DatabaseError where error.sqlState == "AS412" {
            throw DomainError.preconditionFailed
        } catch let error as DatabaseError where error.sqlState == "23503" {
            // The target project is not the caller's (the (user_id, project_id) foreign key).
            throw DomainError.notFound(resource: "project")
        }
    }

    public func delete(_ ids: [UUID], claimsJSON: String, deleteBlob: (String) throws -> Void) throws -> Result<[UUID], MissingAssets> {
        let released: [(UUID, [String])]
        do {
            released = try pool.withUserScope(claimsJSON: claimsJSON) { transaction in
                let rows = try transaction.query("select id, storage_key, thumbnail_key from app_engine.delete_assets(\(AssetSQL.uuidArray(ids))::uuid[])")
                let deleted = try rows.map { row -> (UUID, [String]) in
                    (try row.decode("id"), [try row.decode("storage_key")] + [try row.decodeIfPresent("thumbnail_key", as: String.self)].compactMap { $0 })
                }
                let missing = ids.filter { id in !deleted.contains { $0.0 == id } }
                if !missing.isEmpty { throw MissingAssets(ids: missing) }
                return deleted
            }
        } catch let missing as MissingAssets {
            return .failure(missing)
        }
        for key in Set(released.flatMap(\.1)) { try deleteIfUnreferenced(key, deleteBlob: deleteBlob) }
        return .success(released.map(\.0))
    }

    /// Deletes the blob when no row names it (only its owner's rows can), holding the key's lock so an upload of the
    /// same bytes cannot name it meanwhile.
    @discardableResult
    public func deleteIfUnreferenced(_ key: String, deleteBlob: (String) throws -> Void) throws -> Bool {
        try pool.withServiceRole { transaction in
            try transaction.query(Self.lockKey(key))
            let named = try transaction.query("""
                select 1 from public.assets a where a.storage_key = \(key) or a.thumbnail_key = \(key) limit 1
                """)
            guard named.isEmpty else { return false }
            try deleteBlob(key)
            return true
        }
    }

    public func lineage(_ id: UUID, claimsJSON: String) throws -> AssetLineage? {
        try pool.withUserScope(claimsJSON: claimsJSON, readOnly: true) { transaction in
            guard let row = try transaction.query("select a.generation_id from public.assets a where a.id = \(id)").first else { return nil }
            let parents = try transaction.query("""
                select p.parent_id as id from public.asset_parents p where p.asset_id = \(id) order by p.created_at, p.parent_id
                """).map { try $0.decode("id", as: UUID.self) }
            let children = try transaction.query("""
                select p.asset_id as id from public.asset_parents p where p.parent_id = \(id) order by p.created_at, p.asset_id
                """).map { try $0.decode("id", as: UUID.self) }
            return AssetLineage(generationID: try row.decodeIfPresent("generation_id"), parents: parents, children: children)
        }
    }

    public func setThumbnail(_ id: UUID, state: ThumbnailState, key: String?, claimsJSON: String) throws {
        try pool.withUserScope(claimsJSON: claimsJSON) { transaction in
            if let key { try transaction.query(Self.lockKey(key)) }
            try transaction.query("select app_engine.set_thumbnail(\(id), \(state.rawValue), \(key))")
        }
    }

    public func referencedKeys() throws -> Set<String> {
        try pool.withServiceRole { transaction in
            let rows = try transaction.query("""
                select storage_key as key from public.assets union select thumbnail_key from public.assets where thumbnail_key is not null
                """)
            return Set(try rows.map { try $0.decode("key", as: String.self) })
        }
    }

    public func keysOnlyNamed(byUser user: UUID) throws -> [String] {
        try pool.withServiceRole { transaction in
            let rows = try transaction.query("""
                select k.key from (select storage_key as key from public.assets where user_id = \(user)
                                   union select thumbnail_key from public.assets where user_id = \(user) and thumbnail_key is not null) k
                where not exists (select 1 from public.assets o where o.user_id <> \(user) and (o.storage_key = k.key or o.thumbnail_key = k.key))
                order by 1
                """)
            return try rows.map { try $0.decode("key", as: String.self) }
        }
    }
}

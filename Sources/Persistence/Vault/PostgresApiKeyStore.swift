import Domain
import Foundation

/// `ApiKeyStore` on `public.user_api_keys`. Every statement runs in the caller's user scope, so
/// RLS alone decides which rows exist: another user's key is simply not found.
public struct PostgresApiKeyStore: ApiKeyStore {
    let pool: ConnectionPool

    /// Keys one user may store (API_KEYS_PER_USER).
    let maximumKeysPerUser: Int

    public init(pool: ConnectionPool, maximumKeysPerUser: Int = 100) {
        self.pool = pool
        self.maximumKeysPerUser = maximumKeysPerUser
    }

    // The ciphertext and fingerprint are never selected for listing.
    private static let recordColumns: SQL = """
        id, provider, label, mask_prefix, last4, status, last_checked_at, last_used_at, created_at, updated_at
        """

    public func insert(_ key: NewApiKey, claimsJSON: String, otherFingerprints: [Data]) throws -> ApiKeyRecord {
        do {
            let rows = try pool.withUserScope(claimsJSON: claimsJSON) { transaction in
                // One of the user's stores at a time, so the count cannot be passed by two at once.
                try transaction.query(UserLocks.lock("api keys"))
                let stored = try transaction.query("select count(*)::integer as n from public.user_api_keys")
                guard try (stored.first?.decode("n", as: Int.self) ?? 0) < maximumKeysPerUser else {
                    throw DomainError.conflict(code: "api_key_limit_reached",
                                               detail: "An account may store at most \(maximumKeysPerUser) provider keys; delete one to store another.")
                }
                // During a rotation rows carry fingerprints under either key; the unique index
                // covers the current one, this check the previous.
                for other in otherFingerprints {
                    let found = try transaction.query("""
                        select 1 from public.user_api_keys where provider = \(key.provider.rawValue) and fingerprint = \(other)
                        """)
                    if !found.isEmpty { throw Self.duplicate }
                }
                return try transaction.query("""
                    insert into public.user_api_keys (id, user_id, provider, label, ciphertext, key_version, mask_prefix, last4,
                                                      fingerprint, created_at, updated_at)
                    values (\(key.id), \(key.userID), \(key.provider.rawValue), \(key.label), \(key.ciphertext), \(Int64(key.keyVersion)),
                            \(key.maskPrefix), \(key.last4), \(key.fingerprint), \(key.now), \(key.now))
                    returning \(Self.recordColumns)
                    """)
            }
            return try Self.record(from: rows[0])
        } catch let error as DatabaseError where error.sqlState == "23505" {
            throw Self.duplicate
        }
    }

    private static let duplicate = DomainError.conflict(
        code: "duplicate_key", detail: "This key is already stored for this provider; delete the old entry or keep using it.")

    public func list(claimsJSON: String) throws -> [ApiKeyRecord] {
        try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true,
            "select \(Self.recordColumns) from public.user_api_keys order by created_at desc, id").mappedByColumns(RecordColumns.init, Self.record(from:_:))
    }

    public func record(id: UUID, claimsJSON: String) throws -> ApiKeyRecord? {
        try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true,
            "select \(Self.recordColumns) from public.user_api_keys where id = \(id)").mappedByColumns(RecordColumns.init, Self.record(from:_:)).first
    }

    public func delete(id: UUID, claimsJSON: String) throws -> Bool {
        try pool.withUserScope(claimsJSON: claimsJSON) { transaction in
            try !transaction.query("delete from public.user_api_keys where id = \(id) returning id").isEmpty
        }
    }

    public func relabel(id: UUID, label: String, claimsJSON: String, now: Date) throws -> ApiKeyRecord? {
        try pool.userScopeStatement(claimsJSON: claimsJSON, """
                update public.user_api_keys set label = \(label), updated_at = \(now)
                where id = \(id)
                returning \(Self.recordColumns)
                """).first.map(Self.record(from:))
    }

    public func usableKeys(provider: ProviderID, claimsJSON: String, limit: Int) throws -> [SealedApiKey] {
        try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, """
                select id, user_id, provider, ciphertext from public.user_api_keys
                where provider = \(provider.rawValue) and status <> 'invalid'
                order by (status = 'valid') desc, created_at desc, id
                limit \(limit)
                """).map { row in
            SealedApiKey(id: try row.decode("id"), userID: try row.decode("user_id"),
                         provider: try Self.provider(row), ciphertext: try row.decode("ciphertext"))
        }
    }

    public func markUsed(id: UUID, claimsJSON: String, now: Date) throws {
        try pool.userScopeStatement(claimsJSON: claimsJSON, "update public.user_api_keys set last_used_at = \(now) where id = \(id)")
    }

    public func unmarkUsed(id: UUID, markedAt: Date, previous: Date?, claimsJSON: String) throws {
        try pool.userScopeStatement(claimsJSON: claimsJSON, """
            update public.user_api_keys set last_used_at = \(previous) where id = \(id) and last_used_at = \(markedAt)
            """)
    }

    public func sealedKey(id: UUID, claimsJSON: String) throws -> SealedApiKey? {
        try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true,
            "select id, user_id, provider, ciphertext from public.user_api_keys where id = \(id)").first.map { row in
            SealedApiKey(id: try row.decode("id"), userID: try row.decode("user_id"),
                         provider: try Self.provider(row), ciphertext: try row.decode("ciphertext"))
        }
    }

    public func recordCheck(id: UUID, claimsJSON: String, status: ApiKeyStatus?, reason: String, now: Date) throws -> ApiKeyRecord {
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, """
                update public.user_api_keys
                set status = coalesce(\(status?.rawValue), status), last_check_reason = \(String(reason.prefix(500))),
                    last_checked_at = \(now), updated_at = \(now)
                where id = \(id)
                returning \(Self.recordColumns)
                """)
        guard let row = rows.first else { throw DomainError.notFound(resource: "API key") }
        return try Self.record(from: row)
    }

    private static func provider(_ row: PostgresRow) throws -> ProviderID {
        try provider(row, row.column("provider"))
    }

    private static func provider(_ row: PostgresRow, _ column: PostgresColumn) throws -> ProviderID {
        guard let provider = try row.decode(column, as: PostgresCase<ProviderID>.self).value else {
            throw DecodingFailure(column: "provider", expected: "known provider")
        }
        return provider
    }

    static func record(from row: PostgresRow) throws -> ApiKeyRecord {
        try record(from: row, RecordColumns(row))
    }

    private static func record(from row: PostgresRow, _ columns: RecordColumns) throws -> ApiKeyRecord {
        guard let status = try row.decode(columns.status, as: PostgresCase<ApiKeyStatus>.self).value else {
            throw DecodingFailure(column: "status", expected: "api key status")
        }
        return ApiKeyRecord(
            id: try row.decode(columns.id), provider: try provider(row, columns.provider), label: try row.decode(columns.label),
            mask: try row.decode(columns.maskPrefix, as: String.self) + "…" + row.decode(columns.last4, as: String.self),
            status: status, lastCheckedAt: try row.decodeIfPresent(columns.lastCheckedAt), lastUsedAt: try row.decodeIfPresent(columns.lastUsedAt),
            createdAt: try row.decode(columns.createdAt), updatedAt: try row.decode(columns.updatedAt))
    }

    /// The columns of `recordColumns`, by position in one result.
    private struct RecordColumns {
        let id, provider, label, maskPrefix, last4, status, lastCheckedAt, lastUsedAt, createdAt, updatedAt: PostgresColumn

        init(_ row: PostgresRow) throws {
            id = try row.column("id")
            provider = try row.column("provider")
            label = try row.column("label")
            maskPrefix = try row.column("mask_prefix")
            last4 = try row.column("last4")
            status = try row.column("status")
            lastCheckedAt = try row.column("last_checked_at")
            lastUsedAt = try row.column("last_used_at")
            createdAt = try row.column("created_at")
            updatedAt = try row.column("updated_at")
        }
    }
}

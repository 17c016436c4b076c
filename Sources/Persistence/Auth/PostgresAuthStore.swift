import Domain
import Foundation

/// `AuthStore` on the `auth` schema. Everything here is service-role work: auth internals are
/// the one place the server acts across users (see `withServiceRole`).
public struct PostgresAuthStore: AuthStore {
    let pool: ConnectionPool
    let audience = "authenticated"

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    private static let userColumns: SQL = """
        id, email, role, aud, email_confirmed_at, last_sign_in_at, coalesce(raw_app_meta_data, '{}')::text as app_metadata,
        coalesce(raw_user_meta_data, '{}')::text as user_metadata, created_at, updated_at, is_anonymous
        """

    public func createUser(id: UUID, email: String, passwordHash: String, userMetadata: [String: JSON], now: Date) throws -> AuthUser {
        // Emails are confirmed at sign-up: this deployment sends no confirmation mail (see README).
        let appMetadata = JSON.object(["provider": .string("email"), "providers": .array([.string("email")])]).text
        do {
            let rows = try pool.withServiceRole { transaction in
                try transaction.query("""
                    insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data,
                                            raw_user_meta_data, created_at, updated_at, is_anonymous)
                    values (\(id), \(audience), \(audience), \(email), \(passwordHash), \(now), \(appMetadata)::jsonb,
                            \(JSON.object(userMetadata).text)::jsonb, \(now), \(now), false)
                    returning \(Self.userColumns)
                    """)
            }
            return try Self.user(from: rows[0])
        } catch let error as DatabaseError where error.sqlState == "23505" {
            throw AuthError.userAlreadyExists
        }
    }

    public func credentials(email: String) throws -> StoredCredentials? {
        let rows = try pool.withServiceRole { transaction in
            try transaction.query("""
                select \(Self.userColumns), encrypted_password from auth.users
                where lower(email) = \(email) and deleted_at is null and encrypted_password is not null
                """)
        }
        guard let row = rows.first else { return nil }
        return StoredCredentials(user: try Self.user(from: row), passwordHash: try row.decode("encrypted_password"))
    }

    public func user(id: UUID) throws -> AuthUser? {
        let rows = try pool.withServiceRole { transaction in
            try transaction.query("select \(Self.userColumns) from auth.users where id = \(id) and deleted_at is null")
        }
        return try rows.first.map(Self.user(from:))
    }

    public func createSession(id: UUID, userID: UUID, refreshTokenHash: String, now: Date, userAgent: String?) throws -> AuthSessionRecord {
        try pool.withServiceRole { transaction in
            try transaction.query("""
                insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent)
                values (\(id), \(userID), \(now), \(now), 'aal1', \(userAgent))
                """)
            try insertRefreshToken(transaction, hash: refreshTokenHash, userID: userID, sessionID: id, parent: nil, now: now)
        }
        return AuthSessionRecord(id: id, userID: userID, createdAt: now)
    }

    public func rotateRefreshToken(presentedHash: String, newTokenHash: String, now: Date, reuseInterval: TimeInterval) throws -> RefreshOutcome {
        try pool.withServiceRole { transaction -> RefreshOutcome in
            // The token row is locked, so two refreshes of one token are decided one after the other.
            let found = try transaction.query("""
                select t.id, t.revoked, t.updated_at, t.session_id, s.user_id, s.created_at as session_created_at
                from auth.refresh_tokens t join auth.sessions s on s.id = t.session_id
                where t.token = \(presentedHash)
                for update of t, s
                """)
            guard let token = found.first else { return .notFound }
            let sessionID = try token.decode("session_id", as: UUID.self)
            let userID = try token.decode("user_id", as: UUID.self)
            let revoked = try token.decodeIfPresent("revoked", as: Bool.self) ?? false
            if revoked {
                let revokedAt = try token.decode("updated_at", as: Date.self)
                guard now.timeIntervalSince(revokedAt) <= reuseInterval else {
                    // Reuse after the interval means the token leaked: end the whole session.
                    try transaction.query("delete from auth.sessions where id = \(sessionID)")
                    return .reuseDetected
                }
            } else {
                try transaction.query("update auth.refresh_tokens set revoked = true, updated_at = \(now) where id = \(try token.decode("id", as: Int64.self))")
            }
            try insertRefreshToken(transaction, hash: newTokenHash, userID: userID, sessionID: sessionID, parent: presentedHash, now: now)
            try transaction.query("update auth.sessions set refreshed_at = \(now)::timestamp, updated_at = \(now) where id = \(sessionID)")
            let users = try transaction.query("select \(Self.userColumns) from auth.users where id = \(userID) and deleted_at is null")
            guard let user = users.first else { return .notFound }
            return .rotated(session: AuthSessionRecord(id: sessionID, userID: userID, createdAt: try token.decode("session_created_at")),
                            user: try Self.user(from: user))
        }
    }

    public func user(id: UUID, session: UUID) throws -> (user: AuthUser?, sessionExists: Bool) {
        let rows = try pool.withServiceRole { transaction in
            try transaction.query("""
                select \(Self.userColumns),
                       exists (select 1 from auth.sessions s where s.id = \(session) and s.user_id = u.id) as session_exists
                from auth.users u where u.id = \(id) and u.deleted_at is null
                """)
        }
        guard let row = rows.first else { return (nil, false) }
        return (try Self.user(from: row), try row.decode("session_exists"))
    }

    public func sessionExists(id: UUID, userID: UUID) throws -> Bool {
        try pool.withServiceRole { transaction in
            try !transaction.query("select 1 from auth.sessions where id = \(id) and user_id = \(userID)").isEmpty
        }
    }

    public func revokeSessions(userID: UUID, currentSession: UUID?, scope: LogoutScope) throws {
        try pool.withServiceRole { transaction in
            switch scope {
            case .global:
                try transaction.query("delete from auth.sessions where user_id = \(userID)")
            case .local:
                try transaction.query("delete from auth.sessions where user_id = \(userID) and id = \(currentSession)")
            case .others:
                try transaction.query("delete from auth.sessions where user_id = \(userID) and id is distinct from \(currentSession)")
            }
        }
    }

    public func recordSignIn(userID: UUID, now: Date, rehashedPassword: String?) throws {
        try pool.withServiceRole { transaction in
            try transaction.query("""
                update auth.users set last_sign_in_at = \(now), encrypted_password = coalesce(\(rehashedPassword), encrypted_password)
                where id = \(userID)
                """)
        }
    }

    public func updateUser(id: UUID, passwordHash: String?, userMetadata: [String: JSON]?, now: Date) throws -> AuthUser {
        // GoTrue merges `data` into user_metadata key by key; a key sent as null is removed.
        let patch = userMetadata.map { JSON.object($0).text }
        let rows = try pool.withServiceRole { transaction in
            try transaction.query("""
                update auth.users set
                    encrypted_password = coalesce(\(passwordHash), encrypted_password),
                    raw_user_meta_data = case when \(patch)::jsonb is null then raw_user_meta_data else
                        coalesce((select jsonb_object_agg(key, value)
                                  from jsonb_each(coalesce(raw_user_meta_data, '{}') || \(patch)::jsonb)
                                  where value <> 'null'::jsonb), '{}') end,
                    updated_at = \(now)
                where id = \(id) and deleted_at is null
                returning \(Self.userColumns)
                """)
        }
        guard let row = rows.first else { throw AuthError.userNotFound }
        return try Self.user(from: row)
    }

    private func insertRefreshToken(_ transaction: borrowing Transaction, hash: String, userID: UUID, sessionID: UUID, parent: String?, now: Date) throws {
        try transaction.query("""
            insert into auth.refresh_tokens (token, user_id, revoked, created_at, updated_at, parent, session_id)
            values (\(hash), \(userID.uuidString.lowercased()), false, \(now), \(now), \(parent), \(sessionID))
            """)
    }

    static func user(from row: PostgresRow) throws -> AuthUser {
        func object(_ column: String) throws -> [String: JSON] {
            if case .object(let value)? = JSON.parse(try row.decode(column, as: String.self)) { return value }
            return [:]
        }
        return AuthUser(
            id: try row.decode("id"), email: try row.decodeIfPresent("email") ?? "", role: try row.decodeIfPresent("role") ?? "authenticated",
            audience: try row.decodeIfPresent("aud") ?? "authenticated", emailConfirmedAt: try row.decodeIfPresent("email_confirmed_at"),
            lastSignInAt: try row.decodeIfPresent("last_sign_in_at"), appMetadata: try object("app_metadata"),
            userMetadata: try object("user_metadata"), createdAt: try row.decodeIfPresent("created_at") ?? Date(timeIntervalSince1970: 0),
            updatedAt: try row.decodeIfPresent("updated_at") ?? Date(timeIntervalSince1970: 0), isAnonymous: try row.decode("is_anonymous"))
    }
}

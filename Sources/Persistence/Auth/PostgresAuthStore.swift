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

    public func createAccount(_ account: NewAccount, session: NewSession,
                              finish: (_ user: AuthUser, _ session: AuthSessionRecord) throws -> IssuedSession) throws -> IssuedSession {
        // Emails are confirmed at sign-up: this deployment sends no confirmation mail (see README).
        let appMetadata = WireJSON.object(["provider": "email", "providers": ["email"]]).jsonText
        let now = account.now
        do {
            return try pool.withServiceRole { transaction in
                let rows = try transaction.query("""
                    insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at, last_sign_in_at,
                                            raw_app_meta_data, raw_user_meta_data, created_at, updated_at, is_anonymous)
                    values (\(account.id), \(audience), \(audience), \(account.email), \(account.passwordHash), \(now), \(now),
                            \(appMetadata)::jsonb, \(WireJSON.object(account.userMetadata).jsonText)::jsonb, \(now), \(now), false)
                    returning \(Self.userColumns)
                    """)
                guard let row = rows.first else { throw DatabaseError(step: .statement, sqlState: "P0002", serverMessage: "insert into auth.users returned no row") }
                let user = try Self.user(from: row)
                let record = try insertSession(transaction, session, userID: user.id, now: now)
                return try finish(user, record)
            }
        } catch let error as DatabaseError where error.sqlState == "23505" {
            throw AuthError.userAlreadyExists
        }
    }

    public func credentials(email: String) throws -> StoredCredentials? {
        let rows = try pool.serviceRoleStatement("""
                select \(Self.userColumns), encrypted_password, banned_until from auth.users
                where lower(email) = \(email) and deleted_at is null and encrypted_password is not null
                """)
        guard let row = rows.first else { return nil }
        return StoredCredentials(user: try Self.user(from: row), passwordHash: try row.decode("encrypted_password"),
                                 bannedUntil: try row.decodeIfPresent("banned_until"))
    }

    public func user(id: UUID) throws -> AuthUser? {
        let rows = try pool.serviceRoleStatement("select \(Self.userColumns) from auth.users where id = \(id) and deleted_at is null")
        return try rows.first.map(Self.user(from:))
    }

    public func startSession(userID: UUID, session: NewSession, now: Date, rehashedPassword: String?,
                             finish: (_ user: AuthUser, _ session: AuthSessionRecord) throws -> IssuedSession) throws -> IssuedSession? {
        try pool.withServiceRole { transaction -> IssuedSession? in
            let rows = try transaction.query("""
                update auth.users set last_sign_in_at = \(now), encrypted_password = coalesce(\(rehashedPassword), encrypted_password)
                where id = \(userID) and deleted_at is null
                returning \(Self.userColumns)
                """)
            guard let row = rows.first else { return nil }
            let user = try Self.user(from: row)
            return try finish(user, try insertSession(transaction, session, userID: userID, now: now))
        }
    }

    private func insertSession(_ transaction: borrowing Transaction, _ session: NewSession, userID: UUID, now: Date) throws -> AuthSessionRecord {
        try transaction.query("""
            insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent)
            values (\(session.id), \(userID), \(now), \(now), 'aal1', \(session.userAgent))
            """)
        try insertRefreshToken(transaction, id: nil, hash: session.refreshTokenHash, userID: userID, sessionID: session.id, parent: nil, now: now)
        return AuthSessionRecord(id: session.id, userID: userID, createdAt: now)
    }

    public func rotateRefreshToken(presentedHash: String, now: Date, reuseInterval: TimeInterval,
                                   child: (_ serial: Int64) throws -> RefreshTokenChild) throws -> RefreshOutcome {
        try pool.withServiceRole { transaction -> RefreshOutcome in
            // The session row is locked first (the order a logout's cascade takes), so every refresh
            // of one session waits for the one before it and then sees what it committed.
            let locked = try transaction.query("""
                with locked_session as (
                    select id as session_id, user_id, created_at as session_created_at, not_after from auth.sessions
                    where id = (select session_id from auth.refresh_tokens where token = \(presentedHash))
                    for update
                )
                select locked_session.session_id, session_created_at, not_after, banned_until,
                       deleted_at is not null as user_deleted, \(Self.userColumns)
                from locked_session join auth.users on users.id = locked_session.user_id
                """)
            guard let row = locked.first else { return .notFound }
            let state = SessionState(notAfter: try row.decodeIfPresent("not_after"), bannedUntil: try row.decodeIfPresent("banned_until"),
                                     userDeleted: try row.decode("user_deleted"))
            if let refusal = state.refusal(at: now) { return .refused(refusal) }
            let session = AuthSessionRecord(id: try row.decode("session_id"), userID: try row.decode("id"),
                                            createdAt: try row.decode("session_created_at"))
            let user = try Self.user(from: row)
            // Read after the lock: a refresh that held it has committed its revocation by now. The
            // serial is taken here to save a round trip (a path that does not use it leaves a gap).
            guard let token = try transaction.query("""
                select id, revoked, updated_at, nextval(pg_get_serial_sequence('auth.refresh_tokens', 'id')) as next_serial
                from auth.refresh_tokens where token = \(presentedHash) and session_id = \(session.id)
                """).first else { return .notFound }

            if try token.decodeIfPresent("revoked", as: Bool.self) ?? false {
                if let active = try activeToken(transaction, session: session.id), active.parent == presentedHash {
                    // The client lost the answer that carried the active token: hand it over again.
                    let current = try child(active.id)
                    if current.hash == active.hash {
                        try touch(transaction, session: session.id, now: now)
                        return .rotated(session: session, user: user, refreshToken: current.token)
                    }
                    // Derived under another secret (JWT_SECRET changed): the presented token is still
                    // provably the active one's parent, so it gets a new child instead.
                } else {
                    let revokedAt = try token.decode("updated_at", as: Date.self)
                    guard now.timeIntervalSince(revokedAt) <= reuseInterval else {
                        // Reuse after the interval means the token leaked: end the whole session.
                        try transaction.query("delete from auth.sessions where id = \(session.id)")
                        return .reuseDetected
                    }
                }
            } else {
                try transaction.query("update auth.refresh_tokens set revoked = true, updated_at = \(now) where id = \(try token.decode("id", as: Int64.self))")
            }
            let serial = try token.decode("next_serial", as: Int64.self)
            let next = try child(serial)
            try insertRefreshToken(transaction, id: serial, hash: next.hash, userID: session.userID, sessionID: session.id,
                                   parent: presentedHash, now: now)
            try touch(transaction, session: session.id, now: now)
            return .rotated(session: session, user: user, refreshToken: next.token)
        }
    }

    /// GoTrue's "currently active" token: the session's newest unrevoked one.
    private func activeToken(_ transaction: borrowing Transaction, session: UUID) throws -> (id: Int64, hash: String, parent: String?)? {
        guard let row = try transaction.query("""
            select id, token, parent from auth.refresh_tokens where session_id = \(session) and revoked = false order by id desc limit 1
            """).first else { return nil }
        return (try row.decode("id"), try row.decode("token"), try row.decodeIfPresent("parent"))
    }

    private func touch(_ transaction: borrowing Transaction, session: UUID, now: Date) throws {
        try transaction.query("update auth.sessions set refreshed_at = \(now)::timestamp, updated_at = \(now) where id = \(session)")
    }

    public func sessionState(id: UUID, userID: UUID) throws -> SessionState? {
        // Primary-key lookups only: the session, then its user.
        let rows = try pool.serviceRoleStatement("""
                select s.not_after, u.banned_until, u.deleted_at is not null as user_deleted
                from auth.sessions s join auth.users u on u.id = s.user_id
                where s.id = \(id) and s.user_id = \(userID)
                """)
        guard let row = rows.first else { return nil }
        return SessionState(notAfter: try row.decodeIfPresent("not_after"), bannedUntil: try row.decodeIfPresent("banned_until"),
                            userDeleted: try row.decode("user_deleted"))
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

    public func updateUser(id: UUID, passwordHash: String?, userMetadata: WireJSONObject?, now: Date,
                           accept: (_ updated: AuthUser) throws -> Void) throws -> AuthUser {
        // GoTrue merges `data` into user_metadata key by key; a key sent as null is removed.
        let patch = userMetadata.map { WireJSON.object($0).jsonText }
        return try pool.withServiceRole { transaction in
            let rows = try transaction.query("""
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
            guard let row = rows.first else { throw AuthError.userNotFound }
            let user = try Self.user(from: row)
            try accept(user)
            return user
        }
    }

    public func deleteUser(id: UUID) throws -> Bool {
        try pool.withServiceRole { transaction in
            // Sessions, projects, ledger entries and stored keys go by their foreign keys' cascades;
            // refresh tokens keep the user id as text without a foreign key (GoTrue's schema).
            try transaction.query("delete from auth.refresh_tokens where user_id = \(id.lowercasedString)")
            return !(try transaction.query("delete from auth.users where id = \(id) returning id")).isEmpty
        }
    }

    /// `id` nil takes the next serial; a child passes the serial its token was derived from.
    private func insertRefreshToken(_ transaction: borrowing Transaction, id: Int64?, hash: String, userID: UUID, sessionID: UUID,
                                    parent: String?, now: Date) throws {
        try transaction.query("""
            insert into auth.refresh_tokens (id, token, user_id, revoked, created_at, updated_at, parent, session_id)
            values (coalesce(\(id), nextval(pg_get_serial_sequence('auth.refresh_tokens', 'id'))), \(hash),
                    \(userID.lowercasedString), false, \(now), \(now), \(parent), \(sessionID))
            """)
    }

    static func user(from row: PostgresRow) throws -> AuthUser {
        func object(_ column: String) throws -> WireJSONObject {
            AuthMetadata.parse(stored: try row.decode(column, as: String.self))
        }
        return AuthUser(
            id: try row.decode("id"), email: try row.decodeIfPresent("email") ?? "", role: try row.decodeIfPresent("role") ?? "authenticated",
            audience: try row.decodeIfPresent("aud") ?? "authenticated", emailConfirmedAt: try row.decodeIfPresent("email_confirmed_at"),
            lastSignInAt: try row.decodeIfPresent("last_sign_in_at"), appMetadata: try object("app_metadata"),
            userMetadata: try object("user_metadata"), createdAt: try row.decodeIfPresent("created_at") ?? Date(timeIntervalSince1970: 0),
            updatedAt: try row.decodeIfPresent("updated_at") ?? Date(timeIntervalSince1970: 0), isAnonymous: try row.decode("is_anonymous"))
    }
}

import Foundation

/// The auth use cases behind `/auth/v1`, with GoTrue's rules.
public struct AuthService: Sendable {
    public let store: any AuthStore
    public let hasher: any PasswordHasher
    public let tokens: any AccessTokenIssuer
    public let refreshTokens: any RefreshTokenSource
    public let rules: AuthRules
    /// GoTrue's default, which Supabase advises not to change: concurrent refreshes inside it succeed.
    public let refreshReuseInterval: TimeInterval
    public let now: @Sendable () -> Date
    /// A real hash of a random password, verified when the email is unknown so that a wrong email
    /// and a wrong password take the same time.
    private let dummyHash: DummyPasswordHash

    public init(store: any AuthStore, hasher: any PasswordHasher, tokens: any AccessTokenIssuer, refreshTokens: any RefreshTokenSource,
                rules: AuthRules, refreshReuseInterval: TimeInterval = 10, now: @escaping @Sendable () -> Date = Date.init) throws {
        self.store = store
        self.hasher = hasher
        self.tokens = tokens
        self.refreshTokens = refreshTokens
        var rules = rules
        // Metadata that no token can carry would lock the account out at its next sign-in.
        rules.maximumMetadataBytes = min(rules.maximumMetadataBytes, tokens.maximumUserMetadataBytes)
        self.rules = rules
        self.refreshReuseInterval = refreshReuseInterval
        self.now = now
        self.dummyHash = DummyPasswordHash(hasher: hasher)
    }

    /// Makes the hash that unknown emails are checked against now rather than at the first such
    /// sign-in (the server calls it beside serving, off the start-up path).
    public func prepare() {
        _ = dummyHash.value
    }

    /// Everything is checked before anything is stored; the account, its session, its refresh
    /// token and the signed access token are then made in one transaction (`createAccount`).
    public func signUp(email rawEmail: String?, password rawPassword: String?, metadata: WireJSONObject?, userAgent: String?) throws -> IssuedSession {
        let email = try rules.normaliseEmail(rawEmail)
        let password = try rules.checkPassword(rawPassword)
        let metadata = try rules.checkMetadata(metadata)
        let hash = try hasher.hash(password)
        let time = now()
        let refreshToken = try refreshTokens.newToken()
        let account = NewAccount(id: UUID(), email: email, passwordHash: hash, userMetadata: metadata, now: time)
        return try store.createAccount(account, session: newSession(refreshToken: refreshToken, userAgent: userAgent)) { user, session in
            try issue(user: user, sessionID: session.id, refreshToken: refreshToken, at: time)
        }
    }

    public func signIn(email rawEmail: String?, password: String?, userAgent: String?) throws -> IssuedSession {
        // Any malformed input is the same failure as a wrong password: nothing reveals which part was wrong.
        guard let email = try? rules.normaliseEmail(rawEmail), let password, !password.isEmpty,
              password.utf8.count <= AuthRules.maximumPasswordBytes
        else {
            _ = hasher.verify(UUID().uuidString, against: dummyHash.value)
            throw AuthError.invalidCredentials
        }
        guard let stored = try store.credentials(email: email) else {
            _ = hasher.verify(password, against: dummyHash.value)
            throw AuthError.invalidCredentials
        }
        guard hasher.verify(password, against: stored.passwordHash) else { throw AuthError.invalidCredentials }
        let time = now()
        // Checked after the password (GoTrue checks before it), so a ban is news only to its owner.
        if let bannedUntil = stored.bannedUntil, time < bannedUntil { throw AuthError.userBanned(.passwordGrant) }
        let rehashed = hasher.needsRehash(stored.passwordHash) ? try hasher.hash(password) : nil
        let refreshToken = try refreshTokens.newToken()
        let started = try store.startSession(userID: stored.user.id, session: newSession(refreshToken: refreshToken, userAgent: userAgent),
                                             now: time, rehashedPassword: rehashed) { user, session in
            try issue(user: user, sessionID: session.id, refreshToken: refreshToken, at: time)
        }
        // Deleted between the password check and the session: as if it had never existed.
        guard let started else { throw AuthError.invalidCredentials }
        return started
    }

    public func refresh(token: String?) throws -> IssuedSession {
        guard let token, !token.isEmpty, token.utf8.count <= 512 else { throw AuthError.refreshTokenNotFound }
        let time = now()
        let outcome = try store.rotateRefreshToken(presentedHash: refreshTokens.hash(token), now: time,
                                                   reuseInterval: refreshReuseInterval) { serial in
            let child = try refreshTokens.child(of: token, serial: serial)
            return RefreshTokenChild(token: child, hash: refreshTokens.hash(child))
        }
        switch outcome {
        case .notFound, .refused(.userGone):
            throw AuthError.refreshTokenNotFound
        case .reuseDetected:
            throw AuthError.refreshTokenAlreadyUsed
        case .refused(.userBanned):
            throw AuthError.userBanned(.refreshGrant)
        case .refused(.sessionExpired):
            throw AuthError.sessionExpired(.refreshGrant)
        case .rotated(let session, let user, let refreshToken):
            return try issue(user: user, sessionID: session.id, refreshToken: refreshToken, at: time)
        }
    }

    public func logout(_ identity: AuthenticatedIdentity, scope: LogoutScope) throws {
        try store.revokeSessions(userID: identity.userID, currentSession: identity.sessionID, scope: scope)
    }

    /// Refuses an identity whose session has ended (signed out, revoked for reuse), passed its
    /// `not_after`, or whose user is banned or gone: one indexed lookup. The JWT alone is trusted
    /// until `exp`; endpoints that show the account or spend money call this as well.
    public func requireLiveSession(_ identity: AuthenticatedIdentity) throws {
        guard let sessionID = identity.sessionID else { throw AuthError.sessionNotFound }
        try Self.requireLive(try store.sessionState(id: sessionID, userID: identity.userID), at: now())
    }

    /// The verdict on a session's state as read (nil: no such session of the caller's), for
    /// `requireLiveSession` and for reads that fetch the state in a round trip of their own.
    public static func requireLive(_ state: SessionState?, at now: Date) throws {
        guard let state else { throw AuthError.sessionNotFound }
        switch state.refusal(at: now) {
        case nil: return
        case .userGone: throw AuthError.userNotFound
        case .userBanned: throw AuthError.userBanned(.bearer)
        case .sessionExpired: throw AuthError.sessionExpired(.bearer)
        }
    }

    /// The caller's account. The caller has checked the session (`requireLiveSession`).
    public func currentUser(_ identity: AuthenticatedIdentity) throws -> AuthUser {
        guard let user = try store.user(id: identity.userID) else { throw AuthError.userNotFound }
        return user
    }

    /// Changes the password and/or `user_metadata`. A new password ends every other session.
    /// The caller has checked the session (`requireLiveSession`).
    public func updateUser(_ identity: AuthenticatedIdentity, password rawPassword: String?, metadata: WireJSONObject?) throws -> AuthUser {
        let hash = try rawPassword.map { try hasher.hash(try rules.checkPassword($0)) }
        let checkedMetadata = try metadata.map { try rules.checkMetadata($0) }
        // The patch fits; the merged metadata must fit too, decided on what the transaction wrote.
        let user = try store.updateUser(id: identity.userID, passwordHash: hash, userMetadata: checkedMetadata, now: now()) { updated in
            _ = try rules.checkMetadata(updated.userMetadata)
        }
        if hash != nil {
            try store.revokeSessions(userID: identity.userID, currentSession: identity.sessionID, scope: .others)
        }
        return user
    }

    /// Deletes the caller's account and everything it owns, in one transaction. The caller has
    /// checked the session (`requireLiveSession`), so a signed-out token cannot delete an account.
    public func deleteAccount(_ identity: AuthenticatedIdentity) throws {
        guard try store.deleteUser(id: identity.userID) else { throw AuthError.userNotFound }
    }

    private func newSession(refreshToken: String, userAgent: String?) -> NewSession {
        NewSession(id: UUID(), refreshTokenHash: refreshTokens.hash(refreshToken), userAgent: userAgent.map { String($0.prefix(512)) })
    }

    private func issue(user: AuthUser, sessionID: UUID, refreshToken: String, at time: Date) throws -> IssuedSession {
        let accessToken = try tokens.issue(user: user, sessionID: sessionID, issuedAt: time)
        let lifetime = Int(tokens.lifetime)
        return IssuedSession(accessToken: accessToken, expiresIn: lifetime, expiresAt: Int(time.timeIntervalSince1970) + lifetime,
                             refreshToken: refreshToken, user: user, sessionID: sessionID)
    }
}

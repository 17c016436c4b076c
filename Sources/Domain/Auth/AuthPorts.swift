import Foundation

/// Storage of accounts, sessions and refresh tokens (service-role work in `auth`).
public protocol AuthStore: Sendable {
    /// Throws `AuthError.userAlreadyExists` when the email is taken.
    func createUser(id: UUID, email: String, passwordHash: String, userMetadata: [String: JSON], now: Date) throws -> AuthUser
    func credentials(email: String) throws -> StoredCredentials?
    func user(id: UUID) throws -> AuthUser?
    /// Records a new session with its first refresh token (stored as `refreshTokenHash`).
    func createSession(id: UUID, userID: UUID, refreshTokenHash: String, now: Date, userAgent: String?) throws -> AuthSessionRecord
    /// Applies GoTrue's rotation rules atomically: a live token is revoked and replaced by
    /// `newTokenHash` (its child); a revoked token inside `reuseInterval` of its revocation also gets
    /// a child (concurrent refreshes); outside it the whole session is revoked.
    func rotateRefreshToken(presentedHash: String, newTokenHash: String, now: Date, reuseInterval: TimeInterval) throws -> RefreshOutcome
    func sessionExists(id: UUID, userID: UUID) throws -> Bool
    /// The user, read together with whether the session still exists (one round trip for `/user`).
    func user(id: UUID, session: UUID) throws -> (user: AuthUser?, sessionExists: Bool)
    /// Deletes sessions (and with them their refresh tokens) for a logout of `scope`.
    func revokeSessions(userID: UUID, currentSession: UUID?, scope: LogoutScope) throws
    func recordSignIn(userID: UUID, now: Date, rehashedPassword: String?) throws
    /// Changes the password hash and/or metadata; returns the updated user.
    func updateUser(id: UUID, passwordHash: String?, userMetadata: [String: JSON]?, now: Date) throws -> AuthUser
}

/// Password hashing (bcrypt in production). `verify` compares in constant time.
public protocol PasswordHasher: Sendable {
    /// Throws `AuthError.passwordTooLong` beyond the algorithm's limit.
    func hash(_ password: String) throws -> String
    func verify(_ password: String, against hash: String) -> Bool
    func needsRehash(_ hash: String) -> Bool
}

/// Signs access tokens with Supabase's claims.
public protocol AccessTokenIssuer: Sendable {
    var lifetime: TimeInterval { get }
    func issue(user: AuthUser, sessionID: UUID, issuedAt: Date) throws -> String
}

/// Opaque refresh tokens and the one-way hash under which they are stored.
public protocol RefreshTokenSource: Sendable {
    func newToken() throws -> String
    func hash(_ token: String) -> String
}

import Foundation

/// Storage of accounts, sessions and refresh tokens (service-role work in `auth`).
public protocol AuthStore: Sendable {
    /// Creates the account (signed in at `account.now`), its first session and that session's
    /// refresh token in ONE transaction, and runs `finish` inside it before committing: whatever
    /// `finish` or any step throws, nothing is stored, so a failed sign-up never leaves an email
    /// taken by an account nobody can sign in to. Throws `AuthError.userAlreadyExists` when the
    /// email is taken.
    func createAccount(_ account: NewAccount, session: NewSession,
                       finish: (_ user: AuthUser, _ session: AuthSessionRecord) throws -> IssuedSession) throws -> IssuedSession
    func credentials(email: String) throws -> StoredCredentials?
    func user(id: UUID) throws -> AuthUser?
    /// Signs the user in: records the sign-in (and a rehashed password, when given), creates the
    /// session with its first refresh token and runs `finish` with the updated user, all in one
    /// transaction, so a failure in `finish` leaves no session and no sign-in behind. Nil when the
    /// user is gone.
    func startSession(userID: UUID, session: NewSession, now: Date, rehashedPassword: String?,
                      finish: (_ user: AuthUser, _ session: AuthSessionRecord) throws -> IssuedSession) throws -> IssuedSession?
    /// Applies GoTrue's rotation rules in one transaction that holds the session's row lock, so
    /// refreshes of one session are decided one after another and a refused one writes nothing:
    /// - a live token is revoked and replaced by a child, `child(serial)` for the child's row id;
    /// - a revoked token that is the parent of the session's active (newest unrevoked) token gets
    ///   that active token again, recomputed as `child(active row id)`: the client lost the response;
    /// - any other revoked token gets a new child inside `reuseInterval` of its revocation, and
    ///   outside it ends the session (`reuseDetected`).
    func rotateRefreshToken(presentedHash: String, now: Date, reuseInterval: TimeInterval,
                            child: (_ serial: Int64) throws -> RefreshTokenChild) throws -> RefreshOutcome
    /// The state of the caller's session (nil: no such session for this user), in one indexed lookup.
    func sessionState(id: UUID, userID: UUID) throws -> SessionState?
    /// Deletes sessions (and with them their refresh tokens) for a logout of `scope`.
    func revokeSessions(userID: UUID, currentSession: UUID?, scope: LogoutScope) throws
    /// Changes the password hash and/or merges `userMetadata` into the stored metadata (GoTrue's
    /// rules: key by key, a null value removes the key), then hands the result to `accept` inside
    /// the same transaction: if it throws, nothing changes. Returns the updated user.
    func updateUser(id: UUID, passwordHash: String?, userMetadata: WireJSONObject?, now: Date,
                    accept: (_ updated: AuthUser) throws -> Void) throws -> AuthUser
    /// Deletes the account and, in the same transaction, everything that belongs to it (sessions,
    /// refresh tokens, projects, ledger entries, stored provider keys). False when there was no such user.
    func deleteUser(id: UUID) throws -> Bool
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
    /// The largest `user_metadata` (its canonical compact JSON text in UTF-8 bytes, `AuthMetadata`) that always fits in a token,
    /// whatever the rest of the account holds: the token's size limit less the other claims at
    /// their largest.
    var maximumUserMetadataBytes: Int { get }
    func issue(user: AuthUser, sessionID: UUID, issuedAt: Date) throws -> String
}

/// Opaque refresh tokens and the one-way hash under which they are stored.
public protocol RefreshTokenSource: Sendable {
    /// A random token, the first of a session.
    func newToken() throws -> String
    /// The child of `parent` stored in row `serial`, computed with a server secret: the database
    /// keeps only hashes, yet a client that lost a refresh response and presents the parent again
    /// can be handed the same child. Nobody without the secret can compute it from the parent.
    func child(of parent: String, serial: Int64) throws -> String
    func hash(_ token: String) -> String
}

import Foundation

/// An account in `auth.users`, as the auth API shows it. The password hash never leaves the store.
public struct AuthUser: Sendable, Equatable {
    public let id: UUID
    public let email: String
    public let role: String
    public let audience: String
    public let emailConfirmedAt: Date?
    public let lastSignInAt: Date?
    public let appMetadata: WireJSONObject
    public let userMetadata: WireJSONObject
    public let createdAt: Date
    public let updatedAt: Date
    public let isAnonymous: Bool

    public init(id: UUID, email: String, role: String, audience: String, emailConfirmedAt: Date?, lastSignInAt: Date?,
                appMetadata: WireJSONObject, userMetadata: WireJSONObject, createdAt: Date, updatedAt: Date, isAnonymous: Bool) {
        self.id = id
        self.email = email
        self.role = role
        self.audience = audience
        self.emailConfirmedAt = emailConfirmedAt
        self.lastSignInAt = lastSignInAt
        self.appMetadata = appMetadata
        self.userMetadata = userMetadata
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.isAnonymous = isAnonymous
    }
}

/// A user with the stored password hash, for the sign-in check only.
public struct StoredCredentials: Sendable {
    public let user: AuthUser
    public let passwordHash: String
    /// `auth.users.banned_until`: sign-in is refused until then.
    public let bannedUntil: Date?

    public init(user: AuthUser, passwordHash: String, bannedUntil: Date? = nil) {
        self.user = user
        self.passwordHash = passwordHash
        self.bannedUntil = bannedUntil
    }
}

/// What decides whether an existing session may still be used (refreshed, or trusted by the
/// endpoints that check it): GoTrue's `sessions.not_after` and `users.banned_until`.
public struct SessionState: Sendable, Equatable {
    public let notAfter: Date?
    public let bannedUntil: Date?
    /// `users.deleted_at` is set (a deleted user's rows cascade away, so this is the soft delete).
    public let userDeleted: Bool

    public init(notAfter: Date?, bannedUntil: Date?, userDeleted: Bool) {
        self.notAfter = notAfter
        self.bannedUntil = bannedUntil
        self.userDeleted = userDeleted
    }

    public enum Refusal: Sendable, Equatable {
        case userGone, userBanned, sessionExpired
    }

    /// GoTrue's order: a missing user first, then a ban, then the session's own end.
    public func refusal(at now: Date) -> Refusal? {
        if userDeleted { return .userGone }
        if let bannedUntil, now < bannedUntil { return .userBanned }
        if let notAfter, now > notAfter { return .sessionExpired }
        return nil
    }
}

/// A refresh token about to be stored: the text the client gets and the hash the database keeps.
public struct RefreshTokenChild: Sendable, Equatable {
    public let token: String
    public let hash: String

    public init(token: String, hash: String) {
        self.token = token
        self.hash = hash
    }
}

public struct AuthSessionRecord: Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public let createdAt: Date

    public init(id: UUID, userID: UUID, createdAt: Date) {
        self.id = id
        self.userID = userID
        self.createdAt = createdAt
    }
}

/// What a successful sign-up, sign-in or refresh returns (GoTrue's AccessTokenResponse).
public struct IssuedSession: Sendable {
    public let accessToken: String
    public let expiresIn: Int
    public let expiresAt: Int
    public let refreshToken: String
    public let user: AuthUser
    public let sessionID: UUID

    public init(accessToken: String, expiresIn: Int, expiresAt: Int, refreshToken: String, user: AuthUser, sessionID: UUID) {
        self.accessToken = accessToken
        self.expiresIn = expiresIn
        self.expiresAt = expiresAt
        self.refreshToken = refreshToken
        self.user = user
        self.sessionID = sessionID
    }
}

/// An account about to be created by sign-up; `now` is its creation and first sign-in time.
public struct NewAccount: Sendable {
    public let id: UUID
    public let email: String
    public let passwordHash: String
    public let userMetadata: WireJSONObject
    public let now: Date

    public init(id: UUID, email: String, passwordHash: String, userMetadata: WireJSONObject, now: Date) {
        self.id = id
        self.email = email
        self.passwordHash = passwordHash
        self.userMetadata = userMetadata
        self.now = now
    }
}

/// A session about to be started, with the hash of its first refresh token.
public struct NewSession: Sendable {
    public let id: UUID
    public let refreshTokenHash: String
    public let userAgent: String?

    public init(id: UUID, refreshTokenHash: String, userAgent: String?) {
        self.id = id
        self.refreshTokenHash = refreshTokenHash
        self.userAgent = userAgent
    }
}

public enum LogoutScope: String, Sendable {
    case global, local, others
}

/// The outcome of presenting a refresh token, decided under the session's row lock by the store.
public enum RefreshOutcome: Sendable {
    /// `refreshToken` is the one the client is to use next: a new child, or (when the presented
    /// token is the parent of the session's active token) that active token again.
    case rotated(session: AuthSessionRecord, user: AuthUser, refreshToken: String)
    /// No such token (or its session ended meanwhile). Nothing was written.
    case notFound
    /// A revoked token that is not the active token's parent, after the interval: the session was ended.
    case reuseDetected
    /// Refused by `SessionState` (user deleted or banned, session past `not_after`). Nothing was written.
    case refused(SessionState.Refusal)
}

/// The verified identity behind an access token.
public struct AuthenticatedIdentity: Sendable {
    public let userID: UUID
    public let sessionID: UUID?
    public let role: String
    /// The verified claims as JSON text, for `request.jwt.claims` in the user scope.
    public let claimsJSON: String
    /// The live-session check (`AuthService.requireLiveSession`) is still to be made, and the first
    /// read of the use case this identity is handed to makes it in its own round trip (admission's
    /// read, `QuoteService.pricedQuote`). Only endpoints whose every path reaches that read (or checks
    /// the session itself first) set it: `deferringSessionCheck`.
    public private(set) var sessionCheckDeferred = false

    public init(userID: UUID, sessionID: UUID?, role: String, claimsJSON: String) {
        self.userID = userID
        self.sessionID = sessionID
        self.role = role
        self.claimsJSON = claimsJSON
    }

    /// This identity with its live-session check left to the first read (see `sessionCheckDeferred`).
    public var deferringSessionCheck: AuthenticatedIdentity {
        var identity = self
        identity.sessionCheckDeferred = true
        return identity
    }
}

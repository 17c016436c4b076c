import Foundation

/// An account in `auth.users`, as the auth API shows it. The password hash never leaves the store.
public struct AuthUser: Sendable, Equatable {
    public let id: UUID
    public let email: String
    public let role: String
    public let audience: String
    public let emailConfirmedAt: Date?
    public let lastSignInAt: Date?
    public let appMetadata: [String: JSON]
    public let userMetadata: [String: JSON]
    public let createdAt: Date
    public let updatedAt: Date
    public let isAnonymous: Bool

    public init(id: UUID, email: String, role: String, audience: String, emailConfirmedAt: Date?, lastSignInAt: Date?,
                appMetadata: [String: JSON], userMetadata: [String: JSON], createdAt: Date, updatedAt: Date, isAnonymous: Bool) {
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

    public init(user: AuthUser, passwordHash: String) {
        self.user = user
        self.passwordHash = passwordHash
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
}

public enum LogoutScope: String, Sendable {
    case global, local, others
}

/// The outcome of presenting a refresh token, decided under a row lock by the store.
public enum RefreshOutcome: Sendable {
    /// The token was valid (or reused inside the interval): a child token was recorded.
    case rotated(session: AuthSessionRecord, user: AuthUser)
    /// No such token.
    case notFound
    /// Reused after the interval: the whole session was revoked.
    case reuseDetected
}

/// The verified identity behind an access token.
public struct AuthenticatedIdentity: Sendable {
    public let userID: UUID
    public let sessionID: UUID?
    public let role: String
    /// The verified claims as JSON text, for `request.jwt.claims` in the user scope.
    public let claimsJSON: String

    public init(userID: UUID, sessionID: UUID?, role: String, claimsJSON: String) {
        self.userID = userID
        self.sessionID = sessionID
        self.role = role
        self.claimsJSON = claimsJSON
    }
}

import Domain
import Foundation

/// `/auth/v1`: GoTrue's endpoints and bodies, so a Supabase auth client pointed here works unchanged.
struct AuthHandlers: Sendable {
    let service: AuthService
    let authenticator: Authenticator
    let tokenLimiter: RateLimiter
    let signupLimiter: RateLimiter
    let clientAddress: @Sendable (HTTPRequest) -> String
    /// Removes the account's stored files after its rows (issue #17); nil where no storage is wired.
    var blobRemoval: AccountBlobRemoval? = nil

    private struct Credentials: Decodable {
        let email: String?
        let password: String?
        let data: WireJSONObject?
    }

    private struct RefreshBody: Decodable {
        let refreshToken: String?
    }

    private struct UserUpdate: Decodable {
        let email: String?
        let password: String?
        let data: WireJSONObject?
    }

    func signUp(_ request: HTTPRequest) throws -> HTTPResponse {
        try limit(signupLimiter, request)
        let body = try request.decodeBody(Credentials.self)
        let session = try service.signUp(email: body.email, password: body.password, metadata: body.data, userAgent: request.header("user-agent"))
        return try .json(SessionBody(session))
    }

    func token(_ request: HTTPRequest) throws -> HTTPResponse {
        try limit(tokenLimiter, request)
        switch request.query["grant_type"] {
        case "password":
            let body = try request.decodeBody(Credentials.self)
            return try .json(SessionBody(try service.signIn(email: body.email, password: body.password, userAgent: request.header("user-agent"))))
        case "refresh_token":
            let body = try request.decodeBody(RefreshBody.self)
            return try .json(SessionBody(try service.refresh(token: body.refreshToken)))
        default:
            throw AuthError.unsupportedGrantType
        }
    }

    /// As GoTrue, a token whose session has ended cannot end the user's other sessions (403
    /// `session_not_found`): a leaked token that was signed out must not be able to sign the user out everywhere.
    func logout(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.liveIdentity(of: request)
        guard let scope = LogoutScope(rawValue: request.query["scope"] ?? "global") else {
            throw AuthError.validationFailed("scope must be global, local or others")
        }
        try service.logout(identity, scope: scope)
        return .noContent()
    }

    func getUser(_ request: HTTPRequest) throws -> HTTPResponse {
        try .json(UserBody(try service.currentUser(try authenticator.liveIdentity(of: request))))
    }

    func updateUser(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.liveIdentity(of: request)
        try limit(signupLimiter, request)
        let body = try request.decodeBody(UserUpdate.self)
        if body.email != nil {
            throw AuthError.validationFailed("Changing the email address is not supported by this server")
        }
        return try .json(UserBody(try service.updateUser(identity, password: body.password, metadata: body.data)))
    }

    /// Deletes the caller's account and everything it owns, in one transaction. A live session is
    /// required, so a token that outlived its sign-out cannot delete the account.
    func deleteUser(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.liveIdentity(of: request)
        if let blobRemoval {
            try blobRemoval.deleting(identity.userID) { try service.deleteAccount(identity) }
        } else {
            try service.deleteAccount(identity)
        }
        return .noContent()
    }

    private func limit(_ limiter: RateLimiter, _ request: HTTPRequest) throws {
        if let wait = limiter.take(RateLimitKey.of(clientAddress(request))) {
            throw AuthError.rateLimited(retryAfterSeconds: wait)
        }
    }
}

/// GoTrue's session JSON (AccessTokenResponse).
struct SessionBody: Encodable {
    let accessToken: String
    let tokenType = "bearer"
    let expiresIn: Int
    let expiresAt: Int
    let refreshToken: String
    let user: UserBody

    init(_ session: IssuedSession) {
        accessToken = session.accessToken
        expiresIn = session.expiresIn
        expiresAt = session.expiresAt
        refreshToken = session.refreshToken
        user = UserBody(session.user)
    }
}

/// GoTrue's user object, with the fields a password-only deployment has.
struct UserBody: Encodable {
    /// Lower-case, as GoTrue and PostgreSQL write UUIDs (Foundation would write upper-case).
    let id: String
    let aud: String
    let role: String
    let email: String
    let emailConfirmedAt: Date?
    let confirmedAt: Date?
    let phone = ""
    let lastSignInAt: Date?
    let appMetadata: WireJSONObject
    let userMetadata: WireJSONObject
    let identities: [String] = []
    let createdAt: Date
    let updatedAt: Date
    let isAnonymous: Bool

    init(_ user: AuthUser) {
        id = user.id.lowercasedString
        aud = user.audience
        role = user.role
        email = user.email
        emailConfirmedAt = user.emailConfirmedAt
        confirmedAt = user.emailConfirmedAt
        lastSignInAt = user.lastSignInAt
        appMetadata = user.appMetadata
        userMetadata = user.userMetadata
        createdAt = user.createdAt
        updatedAt = user.updatedAt
        isAnonymous = user.isAnonymous
    }

    enum CodingKeys: String, CodingKey {
        case id, aud, role, email, emailConfirmedAt, confirmedAt, phone, lastSignInAt, appMetadata, userMetadata, identities,
             createdAt, updatedAt, isAnonymous
    }
}

/// Auth failures, each with GoTrue's error code (docs/security.md, "Accounts and tokens"; GoTrue's `internal/api/apierrors`).
public enum AuthError: Error, Equatable, Sendable {
    case validationFailed(String)
    case weakPassword(reasons: [String], message: String)
    case passwordTooLong
    case userAlreadyExists
    case invalidCredentials
    case refreshTokenNotFound
    case refreshTokenAlreadyUsed
    case unsupportedGrantType
    case noAuthorization
    case badJWT(String)
    case sessionNotFound
    case userNotFound
    case rateLimited(retryAfterSeconds: Int)
    /// `auth.users.banned_until` is in the future.
    case userBanned(CredentialUse)
    /// `auth.sessions.not_after` has passed.
    case sessionExpired(CredentialUse)

    public var code: String {
        switch self {
        case .validationFailed, .passwordTooLong: return "validation_failed"
        case .weakPassword: return "weak_password"
        case .userAlreadyExists: return "user_already_exists"
        case .invalidCredentials: return "invalid_credentials"
        case .refreshTokenNotFound: return "refresh_token_not_found"
        case .refreshTokenAlreadyUsed: return "refresh_token_already_used"
        case .unsupportedGrantType: return "unsupported_grant_type"
        case .noAuthorization: return "no_authorization"
        case .badJWT: return "bad_jwt"
        case .sessionNotFound: return "session_not_found"
        case .userNotFound: return "user_not_found"
        case .rateLimited: return "over_request_rate_limit"
        case .userBanned: return "user_banned"
        case .sessionExpired: return "session_expired"
        }
    }

    public var status: Int {
        switch self {
        case .validationFailed, .passwordTooLong, .weakPassword, .userAlreadyExists: return 422
        case .invalidCredentials, .refreshTokenNotFound, .refreshTokenAlreadyUsed, .unsupportedGrantType: return 400
        case .noAuthorization, .badJWT: return 401
        case .sessionNotFound, .userNotFound: return 403
        case .rateLimited: return 429
        // GoTrue refuses a grant with 400 and a bearer token with 403.
        case .userBanned(let use), .sessionExpired(let use): return use == .bearer ? 403 : 400
        }
    }

    /// GoTrue's messages where it has one, so clients that show them read the same text.
    public var message: String {
        switch self {
        case .validationFailed(let message): return message
        case .weakPassword(_, let message): return message
        case .passwordTooLong: return "Password cannot be longer than 72 characters"
        case .userAlreadyExists: return "User already registered"
        case .invalidCredentials: return "Invalid login credentials"
        case .refreshTokenNotFound: return "Invalid Refresh Token: Refresh Token Not Found"
        case .refreshTokenAlreadyUsed: return "Invalid Refresh Token: Already Used"
        case .unsupportedGrantType: return "Unsupported grant type"
        case .noAuthorization: return "This endpoint requires a Bearer token"
        case .badJWT(let reason): return "invalid JWT: unable to parse or verify signature, \(reason)"
        case .sessionNotFound: return "Session from session_id claim in JWT does not exist"
        case .userNotFound: return "User from sub claim in JWT does not exist"
        case .rateLimited: return "Request rate limit reached"
        case .userBanned(.refreshGrant): return "Invalid Refresh Token: User Banned"
        case .userBanned: return "User is banned"
        case .sessionExpired(.refreshGrant): return "Invalid Refresh Token: Session Expired"
        case .sessionExpired: return "Session from session_id claim in JWT has expired"
        }
    }
}

/// Which credential was refused: GoTrue words and numbers the same refusal differently for each.
public enum CredentialUse: Sendable, Equatable {
    case passwordGrant, refreshGrant, bearer
}

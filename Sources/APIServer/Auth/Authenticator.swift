import Crypto
import Domain
import Foundation

/// Turns `Authorization: Bearer <jwt>` into a verified identity, or the GoTrue-style 401.
/// Tokens signed by a Supabase project that shares `JWT_SECRET` verify here the same way.
///
/// Two levels of trust, as in Supabase: `identity(of:)` trusts the signed JWT until its `exp` (what
/// PostgREST does for data access), while `liveIdentity(of:)` also checks that the session behind it
/// is still live. The account endpoints and every endpoint that costs money use the second, so a
/// signed-out, reuse-revoked, expired (`not_after`) or banned session can neither read the account
/// nor spend.
struct Authenticator: Sendable {
    let signer: JWTSigner
    let audience: String
    let auth: AuthService
    /// Shared by the copies of this value (a class): tokens verified before, checked for time only.
    let verifiedTokens = VerifiedTokens(leeway: JWTVerificationOptions().leeway)
    /// Chat answers sent before their settlement: an authenticated request of the same user waits
    /// for those in flight when it arrives (bounded, `SettlementsInFlight.longestWait`), so what it
    /// reads includes them. Nil: nothing is answered early.
    var settlements: SettlementsInFlight? = nil

    /// `identity(of:)`, then one indexed lookup of the session and its user: 403 `session_not_found`,
    /// `session_expired`, `user_banned` or `user_not_found` as GoTrue answers on `/user`.
    func liveIdentity(of request: HTTPRequest) throws -> AuthenticatedIdentity {
        let identity = try identity(of: request)
        try auth.requireLiveSession(identity)
        return identity
    }

    /// The live-session check alone, for an identity from `identity(of:)`.
    func requireLiveSession(_ identity: AuthenticatedIdentity) throws {
        try auth.requireLiveSession(identity)
    }

    /// `body` given `identity` with its live-session check deferred to the first read of the use
    /// case it runs (admission's: `AuthenticatedIdentity.deferringSessionCheck`), which saves that
    /// check its own round trip. When `body` fails otherwise than on that check, the session is
    /// checked here before its error is thrown, so a signed-out, expired or banned session gets the
    /// same answer as from `liveIdentity(of:)` whatever else is wrong with the request. Only for
    /// bodies whose first database work is that read: nothing may be written before it.
    func deferringSessionCheck<T>(_ identity: AuthenticatedIdentity, _ body: (AuthenticatedIdentity) throws -> T) throws -> T {
        do {
            return try body(identity.deferringSessionCheck)
        } catch let error as AuthError {
            throw error
        } catch {
            try auth.requireLiveSession(identity)
            throw error
        }
    }

    /// The verified identity; unless `waitingForSettlements` is false (an admission, which a held
    /// reservation only makes more careful), once that user's settlements in flight are written.
    func identity(of request: HTTPRequest, waitingForSettlements: Bool = true) throws -> AuthenticatedIdentity {
        let identity = try verifiedIdentity(of: request)
        if waitingForSettlements { waitForSettlements(of: identity) }
        return identity
    }

    /// Waits for `identity`'s settlements in flight now (see `settlements`).
    func waitForSettlements(of identity: AuthenticatedIdentity) {
        settlements?.waitForSettlements(of: identity.userID)
    }

    /// The credentials of an `Authorization: Bearer` header (the scheme in any case), nil without one.
    static func bearerToken(of request: HTTPRequest) -> String? {
        guard let header = request.header("authorization"), !header.isEmpty else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        // Spaces and tabs (RFC 9110's OWS) by hand, one character at each end: Foundation's
        // CharacterSet trim, and a String built from a reversed view (character by character), were
        // each a visible share of every authenticated request.
        var token = parts[1]
        while let first = token.first, first == " " || first == "\t" { token = token.dropFirst() }
        while let last = token.last, last == " " || last == "\t" { token = token.dropLast() }
        return String(token)
    }

    private func verifiedIdentity(of request: HTTPRequest) throws -> AuthenticatedIdentity {
        guard let tokenText = Self.bearerToken(of: request) else { throw AuthError.noAuthorization }
        let now = Date()
        if let known = verifiedTokens.identity(of: tokenText, now: now) { return known }
        let verified: VerifiedJWT
        do {
            verified = try signer.verify(tokenText, now: now, options: JWTVerificationOptions(audience: audience))
        } catch let error as JWTError {
            throw AuthError.badJWT(Self.reason(error))
        }
        guard let subject = verified.claims.subject, let userID = UUID(uuidString: subject) else {
            throw AuthError.badJWT("invalid claim: missing sub claim")
        }
        let role = verified.claims.role ?? "authenticated"
        guard role == "authenticated" else { throw AuthError.badJWT("invalid claim: role is not authenticated") }
        let identity = AuthenticatedIdentity(userID: userID, sessionID: verified.claims.sessionID.flatMap(UUID.init(uuidString:)),
                                             role: role, claimsJSON: verified.payloadJSON)
        verifiedTokens.remember(tokenText, identity: identity, expiresAt: verified.claims.expiresAt, notBefore: verified.claims.notBefore)
        return identity
    }

    private static func reason(_ error: JWTError) -> String {
        switch error {
        case .expired: return "token is expired"
        case .notYetValid: return "token is not valid yet"
        case .audienceMismatch: return "invalid audience"
        case .unsupportedAlgorithm: return "signing method is not HS256"
        case .badSignature: return "signature is invalid"
        default: return "token is malformed"
        }
    }
}

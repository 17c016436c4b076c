import Crypto
import Domain
import Foundation

// Adapters from the Crypto module to the Domain's auth ports, wired in the composition root.

struct BcryptPasswordHasher: PasswordHasher {
    let cost: Int

    func hash(_ password: String) throws -> String {
        do {
            return try Bcrypt.hash(password, cost: cost)
        } catch CryptoError.passwordTooLong {
            throw AuthError.passwordTooLong
        } catch CryptoError.passwordContainsNUL {
            throw AuthError.validationFailed("Password cannot contain a NUL character")
        }
    }

    func verify(_ password: String, against hash: String) -> Bool {
        (try? Bcrypt.verify(password, against: hash)) ?? false
    }

    func needsRehash(_ hash: String) -> Bool {
        Bcrypt.needsRehash(hash, cost: cost)
    }
}

/// Access tokens with Supabase's claims (docs/security.md, "Access tokens").
struct JWTAccessTokenIssuer: AccessTokenIssuer {
    let signer: JWTSigner
    let issuer: String
    let lifetime: TimeInterval

    /// The longest `JWT_ISSUER` the configuration accepts; the metadata limit assumes it, so the
    /// documented limit is the same for every deployment.
    static let maximumIssuerBytes = 256
    /// What every access token can carry as `user_metadata`, computed from the token's size limit:
    /// the claims budget less every other claim at its largest (a 254-character email, the longest
    /// issuer, ten-digit times), rounded down to a multiple of 256 so it reads as a plain number.
    static let userMetadataBudget: Int = {
        let widest = AuthUser(id: UUID(), email: String(repeating: "e", count: AuthRules.maximumEmailLength), role: "authenticated",
                              audience: "authenticated", emailConfirmedAt: nil, lastSignInAt: nil,
                              appMetadata: ["provider": .string("email"), "providers": .array([.string("email")])],
                              userMetadata: [:], createdAt: Date(), updatedAt: Date(), isAnonymous: false)
        let farFuture = Date(timeIntervalSince1970: 9_999_999_999)
        let widestClaims = Self.claims(for: widest, sessionID: UUID(), issuedAt: farFuture, lifetime: 0,
                            issuer: String(repeating: "i", count: maximumIssuerBytes))
        // `{}` stands where the metadata will be, so it is not counted twice.
        guard let fixed = (try? widestClaims.jsonString())?.utf8.count else { return 0 }
        return max(0, JWTSigner.maximumClaimsBytes - (fixed - 2)) / 256 * 256
    }()

    var maximumUserMetadataBytes: Int { Self.userMetadataBudget }

    func issue(user: AuthUser, sessionID: UUID, issuedAt: Date) throws -> String {
        try signer.sign(Self.claims(for: user, sessionID: sessionID, issuedAt: issuedAt, lifetime: lifetime, issuer: issuer))
    }

    static func claims(for user: AuthUser, sessionID: UUID, issuedAt: Date, lifetime: TimeInterval, issuer: String) -> JWTClaims {
        JWTClaims(
            issuer: issuer, subject: user.id.lowercasedString, audience: [user.audience],
            expiresAt: issuedAt.addingTimeInterval(lifetime), issuedAt: issuedAt, role: user.role, email: user.email,
            sessionID: sessionID.lowercasedString, authenticatorAssuranceLevel: "aal1", isAnonymous: user.isAnonymous,
            appMetadata: AuthMetadata.canonical(user.appMetadata), userMetadata: AuthMetadata.canonical(user.userMetadata),
            additional: [
                "phone": .string(""),
                "amr": .array([.object(["method": .string("password"), "timestamp": JWTClaims.numericDate(issuedAt)])]),
            ])
    }
}

/// A session's first token is 32 random bytes, base64url; each child is an HMAC-SHA-256 of its
/// parent and row id under a key derived from `JWT_SECRET`, as unguessable as a random token to
/// anyone without the secret. Either is stored as the hex SHA-256 only.
struct RandomRefreshTokens: RefreshTokenSource {
    /// The server's secret (`JWT_SECRET`); a sub-key of it, never the secret itself, keys the HMAC.
    let secret: SecretBytes

    func newToken() throws -> String {
        Base64URL.encode(try SecureRandom.bytes(count: 32))
    }

    func child(of parent: String, serial: Int64) throws -> String {
        let key = try HKDFSHA256.deriveKey(inputKeyMaterial: secret, salt: [UInt8](), info: Array("refresh-token-child-v1".utf8),
                                           outputByteCount: SHA256.byteCount)
        // "serial:" cannot run into the parent (digits end at the colon), so the input is unambiguous.
        return Base64URL.encode(try HMACSHA256.mac(for: Array("\(serial):\(parent)".utf8), key: key))
    }

    func hash(_ token: String) -> String {
        let digest = (try? SHA256.hash(Array(token.utf8))) ?? []
        return Hex.encode(digest)
    }
}

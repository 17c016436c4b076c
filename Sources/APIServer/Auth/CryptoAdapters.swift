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

/// Access tokens with Supabase's claims (../shared/supabase.md §2.3).
struct JWTAccessTokenIssuer: AccessTokenIssuer {
    let signer: JWTSigner
    let issuer: String
    let lifetime: TimeInterval

    func issue(user: AuthUser, sessionID: UUID, issuedAt: Date) throws -> String {
        let claims = JWTClaims(
            issuer: issuer, subject: user.id.uuidString.lowercased(), audience: [user.audience],
            expiresAt: issuedAt.addingTimeInterval(lifetime), issuedAt: issuedAt, role: user.role, email: user.email,
            sessionID: sessionID.uuidString.lowercased(), authenticatorAssuranceLevel: "aal1", isAnonymous: user.isAnonymous,
            appMetadata: user.appMetadata.mapValues(JSONValue.init), userMetadata: user.userMetadata.mapValues(JSONValue.init),
            additional: [
                "phone": .string(""),
                "amr": .array([.object(["method": .string("password"), "timestamp": .number(issuedAt.timeIntervalSince1970.rounded(.down))])]),
            ])
        return try signer.sign(claims)
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
        return digest.map { String(format: "%02x", $0) }.joined()
    }
}

extension JSONValue {
    init(_ value: Domain.JSON) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .integer(let number): self = .number(Double(number))
        case .number(let number): self = .number(number)
        case .string(let text): self = .string(text)
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let members): self = .object(members.mapValues(JSONValue.init))
        }
    }
}

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

/// 32 random bytes, base64url; stored as the hex SHA-256 only.
struct RandomRefreshTokens: RefreshTokenSource {
    func newToken() throws -> String {
        Base64URL.encode(try SecureRandom.bytes(count: 32))
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

import Domain
import Foundation

/// Why a token was refused. The auth layer maps all of them to one client answer (GoTrue's
/// `bad_jwt`); the case is for logs and tests.
public enum JWTError: Error, Sendable, Equatable {
    /// Not three canonical base64url segments of JSON objects, too long, a duplicate key, or a
    /// header without `alg` / with `crit` / with a `typ` other than JWT.
    case malformed
    /// `alg` is anything but `HS256`, `none` included.
    case unsupportedAlgorithm
    case badSignature
    /// A claim has the wrong JSON type, or `exp` is missing while required.
    case invalidClaims
    case expired
    case notYetValid
    case audienceMismatch
}

public struct JWTVerificationOptions: Sendable, Equatable {
    public static let defaultMaximumTokenLength = 8192

    /// Allowed clock difference with the issuer, applied to `exp` and `nbf` (30 s, as PostgREST).
    public var leeway: TimeInterval
    /// When set, `aud` must be this string or an array containing it.
    public var audience: String?
    /// Tokens without `exp` are refused unless this is false.
    public var requireExpiration: Bool
    /// Longer tokens are refused before any decoding.
    public var maximumTokenLength: Int

    public init(leeway: TimeInterval = 30, audience: String? = nil, requireExpiration: Bool = true,
                maximumTokenLength: Int = JWTVerificationOptions.defaultMaximumTokenLength) {
        self.leeway = max(0, leeway)
        self.audience = audience
        self.requireExpiration = requireExpiration
        self.maximumTokenLength = maximumTokenLength
    }
}

/// A token whose signature and time window checked out.
public struct VerifiedJWT: Sendable {
    public let claims: JWTClaims
    /// The payload exactly as signed (valid UTF-8 JSON), for `set_config('request.jwt.claims', …)`.
    public let payloadJSON: String
}

/// Signs and verifies JWTs with HMAC-SHA256 (JWS compact serialisation, RFC 7515 §7.1; JWT,
/// RFC 7519). HS256 is the only algorithm, so a token cannot choose how it is checked.
public struct JWTSigner: Sendable {
    /// RFC 7518 §3.2: the key must be at least as long as the hash output. GoTrue requires the same.
    public static let minimumSecretByteCount = 32

    private let secret: SecretBytes

    public init(secret: SecretBytes) throws {
        guard secret.count >= Self.minimumSecretByteCount else {
            throw CryptoError.invalidKeyLength(expected: Self.minimumSecretByteCount, actual: secret.count)
        }
        self.secret = secret
    }

    /// `{"alg":"HS256","typ":"JWT"}`, the header GoTrue writes.
    static let headerSegment = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))

    /// The longest claims JSON, in UTF-8 bytes, that `sign` turns into a token no longer than
    /// `JWTVerificationOptions.defaultMaximumTokenLength`: what is left after the header, two dots
    /// and the 43-character signature, in unpadded base64url (4 characters per 3 bytes, and 2 or 3
    /// characters for a last 1 or 2 bytes).
    public static var maximumClaimsBytes: Int {
        let room = JWTVerificationOptions.defaultMaximumTokenLength - headerSegment.utf8.count - 2 - 43
        return room / 4 * 3 + max(0, room % 4 - 1)
    }

    public func sign(_ claims: JWTClaims) throws -> String {
        let signingInput = Self.headerSegment + "." + Base64URL.encode(Array(try claims.jsonString().utf8))
        let token = signingInput + "." + (try signature(for: signingInput))
        // Refuse to mint what `verify` would refuse to read.
        guard token.utf8.count <= JWTVerificationOptions.defaultMaximumTokenLength else {
            throw CryptoError.invalidParameters("token would be longer than \(JWTVerificationOptions.defaultMaximumTokenLength) bytes")
        }
        return token
    }

    /// How a token's JSON is read: the one parser, at its strictest (duplicate members, which
    /// RFC 7515 §5.2 says must not be guessed between, invalid UTF-8 and numbers no double holds
    /// are refused), with nesting bounded far below what any claims set needs.
    static let segmentParsing: WireJSONParseOptions = {
        var options = WireJSONParseOptions.strict(maximumDepth: 32)
        options.rejectsNonFiniteNumbers = true
        return options
    }()

    /// A JOSE header or claims set: a JSON object, nothing else.
    static func parseObject(_ bytes: [UInt8]) throws -> WireJSONObject {
        guard case .object(let members) = try WireJSON.parse(bytes: bytes, options: segmentParsing) else { throw JWTError.malformed }
        return members
    }

    func signature(for signingInput: String) throws -> String {
        Base64URL.encode(try HMACSHA256.mac(for: Array(signingInput.utf8), key: secret))
    }

    /// Checks, in this order: size and shape, header (`alg` exactly HS256), signature, claim
    /// types, `exp`, `nbf`, and `aud` when `options.audience` is set. The payload is parsed only
    /// after the signature is known to be good.
    ///
    /// Throws `JWTError` for anything wrong with the token; `CryptoError.libraryFailure` only if
    /// OpenSSL itself fails.
    public func verify(_ token: String, now: Date,
                       options: JWTVerificationOptions = JWTVerificationOptions()) throws -> VerifiedJWT {
        let bytes = Array(token.utf8)
        guard !bytes.isEmpty, bytes.count <= options.maximumTokenLength else { throw JWTError.malformed }

        var dots: [Int] = []
        for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: ".") {
            dots.append(offset)
            guard dots.count <= 2 else { throw JWTError.malformed }
        }
        guard dots.count == 2 else { throw JWTError.malformed }
        guard let headerBytes = Base64URL.decode(utf8: bytes[..<dots[0]]),
              let payloadBytes = Base64URL.decode(utf8: bytes[(dots[0] + 1)..<dots[1]]),
              let signatureBytes = Base64URL.decode(utf8: bytes[(dots[1] + 1)...])
        else { throw JWTError.malformed }

        let header: WireJSONObject
        do { header = try Self.parseObject(headerBytes) } catch { throw JWTError.malformed }
        guard case .string(let algorithm)? = header["alg"] else { throw JWTError.malformed }
        // Byte comparison: Swift's == would also accept canonically equivalent spellings.
        guard algorithm.utf8.elementsEqual("HS256".utf8) else { throw JWTError.unsupportedAlgorithm }
        if let type = header["typ"] {
            guard case .string(let text) = type, text.utf8.count == 3,
                  text.utf8.map({ $0 & 0xDF }).elementsEqual("JWT".utf8) else { throw JWTError.malformed }
        }
        // RFC 7515 §4.1.11: extensions listed in `crit` must be understood; this verifier knows none.
        guard header["crit"] == nil else { throw JWTError.malformed }

        guard signatureBytes.count == HMACSHA256.byteCount,
              try HMACSHA256.isValid(signatureBytes, for: bytes[..<dots[1]], key: secret)
        else { throw JWTError.badSignature }

        let members: WireJSONObject
        do { members = try Self.parseObject(payloadBytes) } catch { throw JWTError.malformed }
        let claims = try JWTClaims(decoding: members)

        let seconds = now.timeIntervalSince1970
        if let expiresAt = claims.expiresAt {
            // RFC 7519 §4.1.4: valid only before `exp`.
            guard seconds < expiresAt.timeIntervalSince1970 + options.leeway else { throw JWTError.expired }
        } else if options.requireExpiration {
            throw JWTError.invalidClaims
        }
        if let notBefore = claims.notBefore {
            guard seconds >= notBefore.timeIntervalSince1970 - options.leeway else { throw JWTError.notYetValid }
        }
        if let expected = options.audience {
            guard let audience = claims.audience,
                  audience.contains(where: { $0.utf8.elementsEqual(expected.utf8) })
            else { throw JWTError.audienceMismatch }
        }
        return VerifiedJWT(claims: claims, payloadJSON: String(decoding: payloadBytes, as: UTF8.self))
    }
}

extension JWTSigner: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "JWTSigner(HS256, secret \(secret))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

import Foundation

/// Input rules for accounts: email normalisation and validation, password policy, metadata bounds.
public struct AuthRules: Sendable {
    public var minimumPasswordLength: Int
    /// `user_metadata` travels in every access token, so it may be no larger than a token has room
    /// for: `AuthService` lowers this to `AccessTokenIssuer.maximumUserMetadataBytes`. Measured as
    /// the compact JSON text of its canonical form (`AuthMetadata`) in UTF-8 bytes.
    public var maximumMetadataBytes: Int
    /// bcrypt reads only the first 72 bytes, so longer passwords are refused rather than truncated.
    public static let maximumPasswordBytes = 72
    public static let maximumEmailLength = 254
    /// 2^53: beyond it a JSON number loses digits in the access token (its claims hold numbers as
    /// doubles, as JavaScript and Go's `interface{}` do) and is written longer than it was sent.
    public static let maximumMetadataInteger: Int64 = 9_007_199_254_740_992

    public init(minimumPasswordLength: Int = 8, maximumMetadataBytes: Int = 16 * 1024) {
        self.minimumPasswordLength = minimumPasswordLength
        self.maximumMetadataBytes = maximumMetadataBytes
    }

    /// Trimmed and lower-cased; throws `validationFailed` for anything that is not one plausible address.
    public func normaliseEmail(_ raw: String?) throws -> String {
        guard let raw else { throw AuthError.validationFailed("An email address is required") }
        let email = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= Self.maximumEmailLength, parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64,
              parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !parts[1].contains(".."),
              email.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f && !"<>()[]\\,;:\"".unicodeScalars.contains($0) })
        else {
            throw AuthError.validationFailed("Unable to validate email address: invalid format")
        }
        return email
    }

    public func checkPassword(_ password: String?) throws -> String {
        guard let password, !password.isEmpty else { throw AuthError.validationFailed("Signup requires a valid password") }
        if password.utf8.count > Self.maximumPasswordBytes { throw AuthError.passwordTooLong }
        if password.count < minimumPasswordLength {
            throw AuthError.weakPassword(reasons: ["length"],
                                         message: "Password should be at least \(minimumPasswordLength) characters.")
        }
        return password
    }

    /// The metadata in its canonical form (`AuthMetadata`), if it may be stored.
    public func checkMetadata(_ metadata: WireJSONObject?) throws -> WireJSONObject {
        let value = AuthMetadata.canonical(metadata ?? WireJSONObject())
        let size = WireJSON.object(value).serialized().count
        if size > maximumMetadataBytes {
            throw AuthError.validationFailed(
                "User metadata would be \(size) bytes as JSON; at most \(maximumMetadataBytes) fit in an access token")
        }
        if Self.containsUnsafeInteger(.object(value)) {
            throw AuthError.validationFailed("Numbers in user metadata must lie within ±2^53 (\(Self.maximumMetadataInteger))")
        }
        // PostgreSQL's jsonb refuses \u0000 in any string or key; refused here, it is a 422, not a failed insert.
        if Self.containsNUL(.object(value)) {
            throw AuthError.validationFailed("User metadata cannot contain the NUL character (\\u0000)")
        }
        return value
    }

    /// An integer beyond 2^53 (a number written without fraction or exponent that `Int64` holds;
    /// longer ones are already doubles in the canonical form).
    private static func containsUnsafeInteger(_ value: WireJSON) -> Bool {
        switch value {
        case .number(let text): return Int64(text).map { $0.magnitude > maximumMetadataInteger.magnitude } ?? false
        case .array(let items): return items.contains(where: containsUnsafeInteger)
        case .object(let members): return members.contains { containsUnsafeInteger($0.value) }
        case .null, .bool, .string: return false
        }
    }

    /// Recurses as deep as the metadata nests, which the JSON decoder already bounded.
    private static func containsNUL(_ value: WireJSON) -> Bool {
        switch value {
        case .string(let text): return text.unicodeScalars.contains("\u{0}")
        case .array(let items): return items.contains(where: containsNUL)
        case .object(let members): return members.contains { $0.key.unicodeScalars.contains("\u{0}") || containsNUL($0.value) }
        case .null, .bool, .number: return false
        }
    }
}

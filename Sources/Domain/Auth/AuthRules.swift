import Foundation

/// Input rules for accounts: email normalisation and validation, password policy.
public struct AuthRules: Sendable {
    public var minimumPasswordLength: Int
    /// bcrypt reads only the first 72 bytes, so longer passwords are refused rather than truncated.
    public static let maximumPasswordBytes = 72
    public static let maximumEmailLength = 254
    public static let maximumMetadataBytes = 16 * 1024

    public init(minimumPasswordLength: Int = 8) {
        self.minimumPasswordLength = minimumPasswordLength
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

    public func checkMetadata(_ metadata: [String: JSON]?) throws -> [String: JSON] {
        let value = metadata ?? [:]
        if JSON.object(value).text.utf8.count > Self.maximumMetadataBytes {
            throw AuthError.validationFailed("User metadata is larger than \(Self.maximumMetadataBytes) bytes")
        }
        // PostgreSQL's jsonb refuses \u0000 in any string or key; refused here, it is a 422, not a failed insert.
        if Self.containsNUL(.object(value)) {
            throw AuthError.validationFailed("User metadata cannot contain the NUL character (\\u0000)")
        }
        return value
    }

    /// Recurses as deep as the metadata nests, which the JSON decoder already bounded.
    private static func containsNUL(_ value: JSON) -> Bool {
        switch value {
        case .string(let text): return text.unicodeScalars.contains("\u{0}")
        case .array(let items): return items.contains(where: containsNUL)
        case .object(let members): return members.contains { $0.key.unicodeScalars.contains("\u{0}") || containsNUL($0.value) }
        case .null, .bool, .integer, .number: return false
        }
    }
}

import Domain
import Foundation

/// The claims of a Supabase/GoTrue access token, typed where the project reads them, with every
/// other member kept in `additional`.
///
/// A member whose value is JSON `null` is treated as absent. A typed member with another JSON type
/// (a string `exp`, a numeric `sub`) makes the token invalid rather than being skipped.
public struct JWTClaims: Sendable, Equatable {
    public var issuer: String?
    /// A user id (uuid text) for user tokens; absent in anon/service keys.
    public var subject: String?
    /// `aud` may be one string or an array of strings on the wire; both arrive here as an array.
    /// When signing, a single audience is written as a string, as GoTrue does.
    public var audience: [String]?
    public var expiresAt: Date?
    public var notBefore: Date?
    public var issuedAt: Date?
    public var jwtID: String?
    public var role: String?
    public var email: String?
    public var sessionID: String?
    /// `aal`: "aal1" or "aal2".
    public var authenticatorAssuranceLevel: String?
    public var isAnonymous: Bool?
    public var appMetadata: WireJSONObject?
    public var userMetadata: WireJSONObject?
    /// Every member without a field above. Keys that do have a field are ignored here when signing.
    public var additional: WireJSONObject

    public init(issuer: String? = nil, subject: String? = nil, audience: [String]? = nil,
                expiresAt: Date? = nil, notBefore: Date? = nil, issuedAt: Date? = nil, jwtID: String? = nil,
                role: String? = nil, email: String? = nil, sessionID: String? = nil,
                authenticatorAssuranceLevel: String? = nil, isAnonymous: Bool? = nil,
                appMetadata: WireJSONObject? = nil, userMetadata: WireJSONObject? = nil,
                additional: WireJSONObject = [:]) {
        self.issuer = issuer
        self.subject = subject
        self.audience = audience
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.issuedAt = issuedAt
        self.jwtID = jwtID
        self.role = role
        self.email = email
        self.sessionID = sessionID
        self.authenticatorAssuranceLevel = authenticatorAssuranceLevel
        self.isAnonymous = isAnonymous
        self.appMetadata = appMetadata
        self.userMetadata = userMetadata
        self.additional = additional
    }

    static let typedKeys: Set<String> = [
        "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "role", "email", "session_id", "aal",
        "is_anonymous", "app_metadata", "user_metadata",
    ]

    /// All claims as one JSON object: what `jsonString()` writes and what a signed token carries.
    public var jsonObject: WireJSONObject {
        var object = additional.filter { !Self.typedKeys.contains($0) }
        func put(_ key: String, _ value: WireJSON?) {
            if let value { object[key] = value }
        }
        put("iss", issuer.map(WireJSON.string))
        put("sub", subject.map(WireJSON.string))
        if let audience {
            object["aud"] = audience.count == 1 ? .string(audience[0]) : .array(audience.map(WireJSON.string))
        }
        put("exp", expiresAt.map(Self.numericDate))
        put("nbf", notBefore.map(Self.numericDate))
        put("iat", issuedAt.map(Self.numericDate))
        put("jti", jwtID.map(WireJSON.string))
        put("role", role.map(WireJSON.string))
        put("email", email.map(WireJSON.string))
        put("session_id", sessionID.map(WireJSON.string))
        put("aal", authenticatorAssuranceLevel.map(WireJSON.string))
        put("is_anonymous", isAnonymous.map(WireJSON.bool))
        put("app_metadata", appMetadata.map(WireJSON.object))
        put("user_metadata", userMetadata.map(WireJSON.object))
        return object
    }

    /// A NumericDate as GoTrue writes it: whole seconds, rounded down. RFC 7519 allows fractions,
    /// but strict decoders (Go's `int64` claims, Swift's `Int` fields) refuse them, and a token valid
    /// a fraction of a second longer than its whole-second `exp` would gain nothing.
    public static func numericDate(_ date: Date) -> WireJSON {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        // Every date a token can carry is a whole number of seconds an Int64 holds exactly, written
        // without `String(format:)` (CoreFoundation's formatter, paged in at start-up for this);
        // "%.0f" writes any other whole double exactly, so no date can trap an integer conversion.
        if let whole = Int64(exactly: seconds), !(seconds == 0 && seconds.sign == .minus) { return .number(String(whole)) }
        return .number(String(format: "%.0f", seconds))
    }

    /// Compact JSON with sorted keys, for example for `request.jwt.claims` when no token is at hand
    /// (the worker acting for a project's owner).
    public func jsonString() throws -> String {
        WireJSON.object(jsonObject).withSortedMembers.jsonText
    }

    init(decoding members: WireJSONObject) throws {
        func value(_ key: String) -> WireJSON? {
            if case .null? = members[key] { return nil }
            return members[key]
        }
        func string(_ key: String) throws -> String? {
            switch value(key) {
            case nil: return nil
            case .string(let text)?: return text
            default: throw JWTError.invalidClaims
            }
        }
        func date(_ key: String) throws -> Date? {
            switch value(key) {
            case nil: return nil
            case .number(let text)?:
                guard let seconds = Double(text), seconds.isFinite else { throw JWTError.invalidClaims }
                return Date(timeIntervalSince1970: seconds)
            default: throw JWTError.invalidClaims
            }
        }
        func object(_ key: String) throws -> WireJSONObject? {
            switch value(key) {
            case nil: return nil
            case .object(let members)?: return members
            default: throw JWTError.invalidClaims
            }
        }

        let audience: [String]?
        switch value("aud") {
        case nil: audience = nil
        case .string(let one)?: audience = [one]
        case .array(let many)?:
            audience = try many.map { element in
                guard case .string(let text) = element else { throw JWTError.invalidClaims }
                return text
            }
        default: throw JWTError.invalidClaims
        }

        let isAnonymous: Bool?
        switch value("is_anonymous") {
        case nil: isAnonymous = nil
        case .bool(let flag)?: isAnonymous = flag
        default: throw JWTError.invalidClaims
        }

        self.init(
            issuer: try string("iss"), subject: try string("sub"), audience: audience,
            expiresAt: try date("exp"), notBefore: try date("nbf"), issuedAt: try date("iat"),
            jwtID: try string("jti"), role: try string("role"), email: try string("email"),
            sessionID: try string("session_id"), authenticatorAssuranceLevel: try string("aal"),
            isAnonymous: isAnonymous, appMetadata: try object("app_metadata"),
            userMetadata: try object("user_metadata"),
            additional: members.filter { !Self.typedKeys.contains($0) })
    }
}

import Foundation

/// `user_metadata` and `app_metadata`: a JSON object in one canonical form, the form that is
/// measured, stored and put in tokens.
///
/// Numbers are written as the integer they are, else as the `Double` they read as (GoTrue and
/// JavaScript clients hold them as doubles). PostgreSQL's `jsonb` rewrites numbers in full
/// (`1e-300` comes back as 302 characters), so stored metadata is brought back to this form when
/// read: a token then carries the text `AuthRules.checkMetadata` measured, never a longer one.
/// Members are in key order, so a token's claims are written the same way every time.
public enum AuthMetadata {
    public static func canonical(_ object: WireJSONObject) -> WireJSONObject {
        WireJSONObject(object.entries.sorted { $0.key < $1.key }.map { ($0.key, Optional(canonical($0.value))) })
    }

    public static func canonical(_ value: WireJSON) -> WireJSON {
        switch value {
        case .number(let text): return .number(canonicalNumber(text))
        case .array(let items): return .array(items.map(canonical))
        case .object(let object): return .object(canonical(object))
        case .null, .bool, .string: return value
        }
    }

    /// Stored metadata (`jsonb` as text); anything but an object reads as `{}`.
    public static func parse(stored text: String) -> WireJSONObject {
        guard case .object(let object)? = try? WireJSON.parse(text) else { return WireJSONObject() }
        return canonical(object)
    }

    /// A number no `Double` holds keeps its text; request bodies refuse those before they get here.
    static func canonicalNumber(_ text: String) -> String {
        if let integer = Int64(text) { return String(integer) }
        if let number = Double(text), number.isFinite { return "\(number)" }
        return text
    }
}

import Domain
import Foundation

/// A request body is read by the one JSON parser (`WireJSON`, numbers kept as the client's text so
/// a value that does not fit its field is refused rather than rounded) at its strict setting.
///
/// Why not `JSONSerialization`/`JSONDecoder`: they round large numbers, accept nesting deep
/// enough to matter, and say nothing about duplicate keys. Here nesting is bounded (so a body of
/// `[[[[…` cannot exhaust the stack), strings must be valid UTF-8 with paired surrogates, and a
/// key given twice is refused (which of the two would win is otherwise the parser's secret).
enum BodyJSONParser {
    /// Deeper nesting than any request body of this API needs.
    static let maximumDepth = 64

    /// The body's JSON, or the sentence a 400 `bad_json` says about it.
    static func parse(_ data: Data) throws(BodyJSONFailure) -> WireJSON {
        do {
            return try WireJSON.parse(data, options: .strict(maximumDepth: maximumDepth))
        } catch {
            switch error.kind {
            case .tooDeep: throw BodyJSONFailure(description: "The body nests deeper than \(maximumDepth) levels.")
            case .duplicateMember(let key): throw BodyJSONFailure(description: "The body gives the key \"\(printable(key))\" twice in one object.")
            case .invalidUTF8: throw BodyJSONFailure(description: "The body is not valid UTF-8.")
            case .syntax, .numberOutOfRange: throw BodyJSONFailure(description: "The body is not valid JSON: \(error.reason) at byte \(error.offset).")
            }
        }
    }

    /// A key for an error message: control characters escaped and the length bounded, so the
    /// message can neither break a log line nor echo a 100 kB key back.
    static func printable(_ key: String) -> String {
        let shown = key.unicodeScalars.prefix(64).map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }
        return shown.joined() + (key.unicodeScalars.count > 64 ? "…" : "")
    }
}

struct BodyJSONFailure: Error, CustomStringConvertible {
    let description: String
}

extension WireJSON {
    /// The JSON type's name as a client reads it in an error message.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

import Domain
import Foundation

/// The paging that the generation and asset listings read alike: `limit` (1 to 100), the
/// `cursor` a previous page issued, and RFC 3339 time bounds.
enum ListPaging {
    /// A time bound such as `created_after`, nil when absent; RFC 3339 with or without fractional
    /// seconds (`format: date-time` allows both). Anything else adds a field error.
    static func time(_ query: [String: String], _ name: String, errors: inout [FieldError]) -> Date? {
        guard let value = query[name].map(restoringOffsetSign) else { return nil }
        if value.utf8.count <= 40, let date = ISO8601DateFormatter().date(from: value) ?? fractionalSeconds().date(from: value) { return date }
        errors.append(FieldError(field: name, code: "invalid", message: "\(name) must be an RFC 3339 time such as 2026-01-31T12:00:00Z"))
        return nil
    }

    /// A query string's `+` means a space (libmicrohttpd decodes it so), and curl sends the `+` of an
    /// offset such as `+02:00` as it is: a space before a final `HH:MM` can only have been that sign.
    static func restoringOffsetSign(_ value: String) -> String {
        let bytes = Array(value.utf8)
        guard bytes.count > 6, bytes[bytes.count - 6] == UInt8(ascii: " "), bytes[bytes.count - 3] == UInt8(ascii: ":"),
              [1, 2, 4, 5].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[bytes.count - $0]) })
        else { return value }
        return String(decoding: bytes[..<(bytes.count - 6)] + Array("+".utf8) + bytes[(bytes.count - 5)...], as: UTF8.self)
    }

    // Built per call: on Linux the formatter wraps ICU, whose parsers are not safe to share across threads.
    private static func fractionalSeconds() -> ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }

    /// The `limit` parameter, nil when absent; out of range adds a field error.
    static func limit(_ query: [String: String], errors: inout [FieldError]) -> Int? {
        guard let value = query["limit"] else { return nil }
        if let limit = Int(value), (1...100).contains(limit) { return limit }
        errors.append(FieldError(field: "limit", code: "out_of_range", message: "limit must be 1 to 100"))
        return nil
    }

    /// The `cursor` parameter, nil when absent; one this server did not issue, or one a page in the
    /// other order issued (`ascending`: the order asked for now), is 400 `bad_cursor`.
    static func cursor(_ query: [String: String], ascending: Bool = false) throws -> GenerationCursor? {
        guard let value = query["cursor"] else { return nil }
        guard let cursor = GenerationCursor(token: value), cursor.ascending == ascending else {
            throw Problem(status: 400, code: "bad_cursor", title: "Bad Request",
                          detail: "The cursor is not one this listing issued; start again without it.")
        }
        return cursor
    }
}

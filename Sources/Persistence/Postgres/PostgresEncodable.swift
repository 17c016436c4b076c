import Domain
import Foundation

/// A value that can be sent to PostgreSQL as a bound parameter in text format.
/// `nil` text means SQL NULL. Parameters are never spliced into statement text.
public protocol PostgresEncodable: Sendable {
    var postgresText: String? { get }
}

extension String: PostgresEncodable {
    public var postgresText: String? { self }
}

extension Int: PostgresEncodable {
    public var postgresText: String? { String(self) }
}

extension Int32: PostgresEncodable {
    public var postgresText: String? { String(self) }
}

extension Int64: PostgresEncodable {
    public var postgresText: String? { String(self) }
}

extension Bool: PostgresEncodable {
    public var postgresText: String? { self ? "true" : "false" }
}

extension Decimal: PostgresEncodable {
    // Decimal's description is plain positional notation ("12.5", "-0.0001"), which `numeric` accepts exactly.
    public var postgresText: String? { description }
}

extension UUID: PostgresEncodable {
    public var postgresText: String? { lowercasedString }
}

extension Date: PostgresEncodable {
    public var postgresText: String? { PostgresTimestamp.format(self) }
}

extension Data: PostgresEncodable {
    /// bytea in hex input format: `\x` followed by two hex digits per byte.
    public var postgresText: String? {
        "\\x" + Hex.encode(self)
    }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? {
        switch self {
        case .none: return nil
        case .some(let value): return value.postgresText
        }
    }
}

extension Array: PostgresEncodable where Element == String {
    /// A one-dimensional text array literal; every element quoted and escaped, so it binds
    /// safely as `$n::text[]` (use `= any($n::text[])` instead of building `IN (...)` lists).
    public var postgresText: String? {
        // One pass over the UTF-8 bytes: a backslash or a double quote gets a backslash before it.
        // (Foundation's replacingOccurrences, twice per element, was 3.5 % of the server's CPU under
        // load: a group's arrays of ids, amounts and times are built with this.)
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(reduce(2) { $0 + $1.utf8.count + 3 })
        for (index, element) in enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}

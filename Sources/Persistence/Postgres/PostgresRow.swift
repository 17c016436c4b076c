import Foundation

/// A value PostgreSQL sent back in text format that can be read as a Swift type.
public protocol PostgresDecodable {
    init(postgresText text: String) throws
}

public struct DecodingFailure: Error, CustomStringConvertible, Sendable {
    public let column: String
    public let expected: String
    public var description: String { "column \(column) is not a \(expected)" }
}

/// One result row, already copied out of the libpq result, so it outlives it.
public struct PostgresRow: Sendable {
    let columns: [String]
    let values: [String?]

    public var count: Int { values.count }

    /// The value of a column by name; throws when the column is absent, NULL, or not of that type.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = columns.firstIndex(of: column) else {
            throw DecodingFailure(column: column, expected: "present column")
        }
        guard let text = values[index] else {
            throw DecodingFailure(column: column, expected: "non-null \(T.self)")
        }
        do {
            return try T(postgresText: text)
        } catch {
            throw DecodingFailure(column: column, expected: "\(T.self)")
        }
    }

    /// Like `decode`, but NULL reads as nil.
    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        guard let index = columns.firstIndex(of: column) else {
            throw DecodingFailure(column: column, expected: "present column")
        }
        guard values[index] != nil else { return nil }
        return try decode(column, as: T.self)
    }
}

struct UnreadableText: Error {}

extension String: PostgresDecodable {
    public init(postgresText text: String) { self = text }
}

extension Int: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard let value = PostgresText.integer(text) else { throw UnreadableText() }
        self = Int(value)
    }
}

extension Int64: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard let value = PostgresText.integer(text) else { throw UnreadableText() }
        self = value
    }
}

extension Bool: PostgresDecodable {
    public init(postgresText text: String) throws {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw UnreadableText()
        }
    }
}

extension Decimal: PostgresDecodable {
    public init(postgresText text: String) throws {
        if let value = PostgresText.decimal(text) {
            self = value
            return
        }
        // Exponents, NaN and more digits than a Decimal holds: Foundation's reading, rounding included.
        guard let value = Decimal(string: text, locale: PostgresText.posix) else { throw UnreadableText() }
        self = value
    }
}

extension UUID: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard let value = PostgresText.uuid(text) ?? UUID(uuidString: text) else { throw UnreadableText() }
        self = value
    }
}

extension Date: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard let value = PostgresTimestamp.parse(text) else { throw UnreadableText() }
        self = value
    }
}

extension Data: PostgresDecodable {
    /// bytea arrives in hex output format (`\x…`), the default since PostgreSQL 9.0.
    public init(postgresText text: String) throws {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x"), bytes.count % 2 == 0 else {
            throw UnreadableText()
        }
        func nibble(_ byte: UInt8) throws -> UInt8 {
            switch byte {
            case 48...57: return byte - 48
            case 97...102: return byte - 87
            case 65...70: return byte - 55
            default: throw UnreadableText()
            }
        }
        var data = Data(capacity: (bytes.count - 2) / 2)
        var index = 2
        while index < bytes.count {
            data.append(try nibble(bytes[index]) << 4 | nibble(bytes[index + 1]))
            index += 2
        }
        self = data
    }
}

import Foundation

/// A value PostgreSQL sent back in text format that can be read as a Swift type.
public protocol PostgresDecodable {
    init(postgresText text: String) throws
    /// The same reading on the text's UTF-8 bytes, as the row holds them; by default through a
    /// `String`. The column types a listed row carries (ids, times, amounts, integers) read the
    /// bytes directly: a `String` per value was a visible share of decoding a page.
    init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws
}

extension PostgresDecodable {
    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
        try self.init(postgresText: String(decoding: bytes, as: UTF8.self))
    }
}

public struct DecodingFailure: Error, CustomStringConvertible, Sendable {
    public let column: String
    public let expected: String
    public var description: String { "column \(column) is not a \(expected)" }
}

/// One result row, already copied out of the libpq result, so it outlives it: a row is a
/// position in its result's `PostgresRowText`, which holds every value of the result.
public struct PostgresRow: Sendable {
    let text: PostgresRowText
    let row: Int

    /// The result's column names, in the statement's order.
    var columns: [String] { text.columns }

    public var count: Int { text.columns.count }

    /// The value of a column by name; throws when the column is absent, NULL, or not of that type.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = text.index(of: column) else {
            throw DecodingFailure(column: column, expected: "present column")
        }
        return try text.withValue(row: row, column: index) { bytes in
            guard let bytes else { throw DecodingFailure(column: column, expected: "non-null \(T.self)") }
            do {
                return try T(postgresBytes: bytes)
            } catch {
                throw DecodingFailure(column: column, expected: "\(T.self)")
            }
        }
    }

    /// Like `decode`, but NULL reads as nil.
    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        guard let index = text.index(of: column) else {
            throw DecodingFailure(column: column, expected: "present column")
        }
        guard text.withValue(row: row, column: index, { $0 != nil }) else { return nil }
        return try decode(column, as: T.self)
    }
}

/// Every value of one result, copied out of libpq into one buffer: one allocation per result
/// instead of a `String` per value and an array per row. Immutable once built.
final class PostgresRowText: Sendable {
    let columns: [String]
    /// Each column name's UTF-8 length, compared before the names themselves.
    private let columnLengths: [Int]
    private let bytes: [UInt8]
    /// Per value, row by row: where its text starts in `bytes` and how long it is; -1 for NULL.
    private let starts: [Int]
    private let lengths: [Int]

    init(columns: [String], bytes: [UInt8], starts: [Int], lengths: [Int]) {
        self.columns = columns
        self.columnLengths = columns.map(\.utf8.count)
        self.bytes = bytes
        self.starts = starts
        self.lengths = lengths
    }

    func index(of column: String) -> Int? {
        let length = column.utf8.count
        for index in columns.indices where columnLengths[index] == length && columns[index] == column {
            return index
        }
        return nil
    }

    /// `body` with the value's bytes, or nil for NULL (or a position outside the result).
    func withValue<R>(row: Int, column: Int, _ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
        let cell = row * columns.count + column
        guard column >= 0, column < columns.count, cell >= 0, cell < starts.count, lengths[cell] >= 0 else { return try body(nil) }
        return try bytes.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[starts[cell]..<(starts[cell] + lengths[cell])]))
        }
    }
}

struct UnreadableText: Error {}

extension PostgresDecodable {
    /// For the types that read bytes: the `String`'s own UTF-8, without a copy when it is native.
    fileprivate init(utf8Of text: String) throws {
        var text = text
        self = try text.withUTF8 { try Self(postgresBytes: $0) }
    }
}

extension String: PostgresDecodable {
    public init(postgresText text: String) { self = text }
}

extension Int: PostgresDecodable {
    public init(postgresText text: String) throws { try self.init(utf8Of: text) }

    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
        guard let value = PostgresText.integer(bytes) else { throw UnreadableText() }
        self = Int(value)
    }
}

extension Int64: PostgresDecodable {
    public init(postgresText text: String) throws { try self.init(utf8Of: text) }

    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
        guard let value = PostgresText.integer(bytes) else { throw UnreadableText() }
        self = value
    }
}

extension Bool: PostgresDecodable {
    public init(postgresText text: String) throws { try self.init(utf8Of: text) }

    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
        switch bytes.count == 1 ? bytes[0] : 0 {
        case UInt8(ascii: "t"): self = true
        case UInt8(ascii: "f"): self = false
        default:
            if bytes.elementsEqual("true".utf8) { self = true } else if bytes.elementsEqual("false".utf8) { self = false } else {
                throw UnreadableText()
            }
        }
    }
}

extension Decimal: PostgresDecodable {
    public init(postgresText text: String) throws { try self.init(utf8Of: text) }

    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
        if let value = PostgresText.decimal(bytes) {
            self = value
            return
        }
        // Exponents, NaN and more digits than a Decimal holds: Foundation's reading, rounding included.
        guard let value = Decimal(string: String(decoding: bytes, as: UTF8.self), locale: PostgresText.posix) else {
            throw UnreadableText()
        }
        self = value
    }
}

extension UUID: PostgresDecodable {
    public init(postgresText text: String) throws { try self.init(utf8Of: text) }

    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
        guard let value = PostgresText.uuid(bytes) ?? UUID(uuidString: String(decoding: bytes, as: UTF8.self)) else {
            throw UnreadableText()
        }
        self = value
    }
}

extension Date: PostgresDecodable {
    public init(postgresText text: String) throws { try self.init(utf8Of: text) }

    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
        guard let value = PostgresTimestamp.parse(bytes: bytes) else { throw UnreadableText() }
        self = value
    }
}

extension Data: PostgresDecodable {
    public init(postgresText text: String) throws { try self.init(utf8Of: text) }

    /// bytea arrives in hex output format (`\x…`), the default since PostgreSQL 9.0.
    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
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

import CLibPQ
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

/// One result row: a position in its result (`PostgresRowText`), which keeps libpq's result alive
/// for as long as any of its rows is.
public struct PostgresRow: Sendable {
    let text: PostgresRowText
    let row: Int

    /// The result's column names, in the statement's order.
    var columns: [String] { text.columns }

    public var count: Int { text.columnCount }

    /// The value of a column by name; throws when the column is absent, NULL, or not of that type.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = text.index(of: column) else {
            throw DecodingFailure(column: column, expected: "present column")
        }
        return try decode(at: index, named: column)
    }

    /// Like `decode`, but NULL reads as nil.
    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        guard let index = text.index(of: column) else {
            throw DecodingFailure(column: column, expected: "present column")
        }
        return try decodeIfPresent(at: index, named: column)
    }

    /// A column's position, found once for reading it from many rows (`decode(_:as:)` with a
    /// `PostgresColumn`): looking a name up for every value of a page was a visible share of it.
    public func column(_ name: String) throws -> PostgresColumn {
        guard let index = text.index(of: name) else {
            throw DecodingFailure(column: name, expected: "present column")
        }
        return PostgresColumn(name: name, index: index, result: text)
    }

    /// The value at a column found with `column(_:)`; the same answers as `decode` by its name. A
    /// column found in another result is looked up again by its name.
    public func decode<T: PostgresDecodable>(_ column: PostgresColumn, as type: T.Type = T.self) throws -> T {
        guard column.result === text else { return try decode(column.name, as: T.self) }
        return try decode(at: column.index, named: column.name)
    }

    /// Like `decode(_:as:)` with a `PostgresColumn`, but NULL reads as nil.
    public func decodeIfPresent<T: PostgresDecodable>(_ column: PostgresColumn, as type: T.Type = T.self) throws -> T? {
        guard column.result === text else { return try decodeIfPresent(column.name, as: T.self) }
        return try decodeIfPresent(at: column.index, named: column.name)
    }

    private func decode<T: PostgresDecodable>(at index: Int, named column: String) throws -> T {
        try text.withValue(row: row, column: index) { bytes in
            guard let bytes else { throw DecodingFailure(column: column, expected: "non-null \(T.self)") }
            do {
                return try T(postgresBytes: bytes)
            } catch {
                throw DecodingFailure(column: column, expected: "\(T.self)")
            }
        }
    }

    private func decodeIfPresent<T: PostgresDecodable>(at index: Int, named column: String) throws -> T? {
        try text.withValue(row: row, column: index) { bytes in
            guard let bytes else { return nil }
            do {
                return try T(postgresBytes: bytes)
            } catch {
                throw DecodingFailure(column: column, expected: "\(T.self)")
            }
        }
    }
}

extension Collection where Element == PostgresRow {
    /// Each row through `transform`, with the columns `resolve` finds once, in the first row, for
    /// all of them (the rows of one result share their columns).
    public func mappedByColumns<Columns, T>(_ resolve: (PostgresRow) throws -> Columns,
                                            _ transform: (PostgresRow, Columns) throws -> T) throws -> [T] {
        guard let first else { return [] }
        let columns = try resolve(first)
        return try map { try transform($0, columns) }
    }
}

/// A column of one result, by position (`PostgresRow.column(_:)`).
public struct PostgresColumn: Sendable {
    let name: String
    let index: Int
    /// The result it was found in (held, so no other result can take its place): its rows may be
    /// read by position.
    let result: PostgresRowText
}

/// One result's values, read in place from libpq's result, which this object owns and clears when
/// the last of its rows is gone: no copy of the values, no `String` per value, no array per row.
/// A `PGresult` is read-only once made and does not refer to its connection, so reading it from
/// any thread after the connection moved on is what libpq allows.
final class PostgresRowText: @unchecked Sendable {
    let rowCount: Int
    let columnCount: Int
    private let result: OpaquePointer

    /// Takes over `result` (a `PGRES_TUPLES_OK` result). Column names stay in libpq's result.
    /// Each column name's length, measured once: a row decoded by name looks up each of its columns,
    /// and measuring every name again at each lookup was a thirtieth of the server's instructions.
    private let nameLengths: [Int]

    init(taking result: OpaquePointer) {
        self.result = result
        rowCount = Int(PQntuples(result))
        columnCount = Int(PQnfields(result))
        nameLengths = (0..<columnCount).map { column in PQfname(result, Int32(column)).map { strlen($0) } ?? -1 }
    }

    /// The result's column names, in the statement's order.
    var columns: [String] {
        (0..<columnCount).map { column in PQfname(result, Int32(column)).map { String(cString: $0) } ?? "" }
    }

    deinit {
        PQclear(result)
    }

    /// The first column of that name: compared byte for byte with libpq's names, and only when none
    /// is equal, as `String`s (which equal canonically equivalent texts), as it always was.
    func index(of column: String) -> Int? {
        var column = column
        let found = column.withUTF8 { name -> Int? in
            for index in 0..<columnCount where nameLengths[index] == name.count {
                guard let field = PQfname(result, Int32(index)) else { continue }
                guard let bytes = name.baseAddress else { return index }   // both empty
                if memcmp(field, bytes, name.count) == 0 { return index }
            }
            return nil
        }
        return found ?? columns.firstIndex(of: column)
    }

    /// `body` with the value's bytes, or nil for NULL (or a position outside the result).
    func withValue<R>(row: Int, column: Int, _ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
        guard column >= 0, column < columnCount, row >= 0, row < rowCount else { return try body(nil) }
        let (row, column) = (Int32(row), Int32(column))
        // libpq gives NULL a length of 0: only an empty value needs the question whether it is NULL.
        let length = Int(PQgetlength(result, row, column))
        guard length > 0 || PQgetisnull(result, row, column) == 0, let value = PQgetvalue(result, row, column) else { return try body(nil) }
        return try value.withMemoryRebound(to: UInt8.self, capacity: length) { start in
            try body(UnsafeBufferPointer(start: start, count: length))
        }
    }
}

struct UnreadableText: Error {}

/// The case of a `String`-backed enum named by a column (a budget period, a key's status), nil
/// for any other text, as `init(rawValue:)` answers. The bytes are compared with each case's raw
/// value first, with no `String` made; only a text matching none is read as `init(rawValue:)`
/// reads it (which compares canonically equivalent texts as equal).
public struct PostgresCase<Value: RawRepresentable & CaseIterable>: PostgresDecodable where Value.RawValue == String {
    public let value: Value?

    public init(postgresText text: String) {
        value = Value(rawValue: text)
    }

    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) {
        for candidate in Value.allCases {
            var raw = candidate.rawValue
            if raw.withUTF8({ Self.same($0, bytes) }) {
                value = candidate
                return
            }
        }
        value = Value(rawValue: String(decoding: bytes, as: UTF8.self))
    }

    private static func same(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard let first = a.baseAddress, let second = b.baseAddress else { return true }
        return memcmp(first, second, a.count) == 0
    }
}

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

/// Unsigned 64-bit values (PostgreSQL's `xid8`), as their decimal text.
extension UInt64: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard text.utf8.count <= 20, let value = UInt64(text) else { throw UnreadableText() }
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
        guard let value = UUID(canonicalBytes: bytes) ?? UUID(uuidString: String(decoding: bytes, as: UTF8.self)) else {
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
        // Into an array first: `Data.append` of one byte at a time cost hundreds of instructions a byte.
        var decoded = [UInt8](repeating: 0, count: (bytes.count - 2) / 2)
        var index = 2
        for position in decoded.indices {
            decoded[position] = try nibble(bytes[index]) << 4 | nibble(bytes[index + 1])
            index += 2
        }
        self = Data(decoded)
    }
}

import Foundation

/// The `Encoder` a value sees while `JSONStreamWriter` writes it. One per nesting depth, reused.
final class StreamEncoder: Encoder {
    enum State {
        case empty
        case single
        /// An object whose members start at this index of `writer.members`.
        case object(memberBase: Int)
        case array(count: Int)
    }

    /// Unowned and unchecked: the writer outlives every encoder it lends (an encoder kept past its
    /// `encode(to:)` call is a misuse Codable does not allow), and counting references here cost
    /// more than writing the bytes.
    unowned(unsafe) let writer: JSONStreamWriter
    @exclusivity(unchecked) var depth = 0
    @exclusivity(unchecked) var state = State.empty

    init(writer: JSONStreamWriter) {
        self.writer = writer
    }

    /// Not tracked: keeping it cost a reference count per value, and it only serves errors, which
    /// Foundation's encoder reports again with the full path.
    var codingPath: [any CodingKey] { [] }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// True when this encoder's value is the one being written now; otherwise the write is out of
    /// order for a stream and the whole value goes to Foundation.
    var isCurrent: Bool {
        if depth == writer.depth { return true }
        writer.unsupported = true
        return false
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if isCurrent {
            switch state {
            case .empty:
                writer.bytes.append(UInt8(ascii: "{"))
                state = .object(memberBase: writer.members.count)
            case .object:
                break
            case .single, .array:
                writer.unsupported = true
            }
        }
        return KeyedEncodingContainer(StreamKeyedContainer<Key>(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if isCurrent {
            switch state {
            case .empty:
                writer.bytes.append(UInt8(ascii: "["))
                state = .array(count: 0)
            case .array:
                break
            case .single, .object:
                writer.unsupported = true
            }
        }
        return StreamUnkeyedContainer(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        StreamSingleValueContainer(encoder: self)
    }

    /// Runs `write` for the one value of a single-value container.
    func writeSingle(_ write: () throws -> Void) rethrows {
        guard isCurrent else { return }
        guard case .empty = state else {
            writer.unsupported = true
            return
        }
        state = .single
        try write()
    }

    /// Runs `write` for the next element of this encoder's array.
    func writeElement(_ write: () throws -> Void) rethrows {
        guard isCurrent, case .array(let count) = state else {
            writer.unsupported = true
            return
        }
        if count > 0 { writer.bytes.append(UInt8(ascii: ",")) }
        state = .array(count: count + 1)
        try write()
    }

    /// Runs `write` for the value of the member `key` of this encoder's object.
    func writeMember(_ key: some CodingKey, _ write: () throws -> Void) rethrows {
        guard isCurrent, case .object(let memberBase) = state else {
            writer.unsupported = true
            return
        }
        let name = SnakeCaseKeys.converted(key.stringValue)
        let start = writer.beginMember(name, memberBase: memberBase)
        try write()
        writer.endMember(name, start: start)
    }
}

struct StreamKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    /// Unowned: the encoder lives while its value is written, and containers do not outlive that.
    unowned(unsafe) let encoder: StreamEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    private var writer: JSONStreamWriter { encoder.writer }

    mutating func encodeNil(forKey key: Key) throws { encoder.writeMember(key) { writer.writeNull() } }
    mutating func encode(_ value: Bool, forKey key: Key) throws { encoder.writeMember(key) { writer.writeBool(value) } }
    mutating func encode(_ value: String, forKey key: Key) throws { encoder.writeMember(key) { writer.writeString(value) } }
    mutating func encode(_ value: Double, forKey key: Key) throws { try encoder.writeMember(key) { try writer.writeFloatingPoint(value) } }
    mutating func encode(_ value: Float, forKey key: Key) throws { try encoder.writeMember(key) { try writer.writeFloatingPoint(value) } }
    mutating func encode(_ value: Int, forKey key: Key) throws { encoder.writeMember(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: Int8, forKey key: Key) throws { encoder.writeMember(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: Int16, forKey key: Key) throws { encoder.writeMember(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: Int32, forKey key: Key) throws { encoder.writeMember(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: Int64, forKey key: Key) throws { encoder.writeMember(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt, forKey key: Key) throws { encoder.writeMember(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { encoder.writeMember(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { encoder.writeMember(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { encoder.writeMember(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { encoder.writeMember(key) { writer.writeInteger(value) } }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encoder.writeMember(key) { _ = try writer.writeValue(value) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        writer.unsupported = true
        return writer.inertEncoder.container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        writer.unsupported = true
        return writer.inertEncoder.unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        writer.unsupported = true
        return writer.inertEncoder
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        writer.unsupported = true
        return writer.inertEncoder
    }
}

struct StreamUnkeyedContainer: UnkeyedEncodingContainer {
    /// Unowned: the encoder lives while its value is written, and containers do not outlive that.
    unowned(unsafe) let encoder: StreamEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int {
        if case .array(let count) = encoder.state { return count }
        return 0
    }
    private var writer: JSONStreamWriter { encoder.writer }

    mutating func encodeNil() throws { encoder.writeElement { writer.writeNull() } }
    mutating func encode(_ value: Bool) throws { encoder.writeElement { writer.writeBool(value) } }
    mutating func encode(_ value: String) throws { encoder.writeElement { writer.writeString(value) } }
    mutating func encode(_ value: Double) throws { try encoder.writeElement { try writer.writeFloatingPoint(value) } }
    mutating func encode(_ value: Float) throws { try encoder.writeElement { try writer.writeFloatingPoint(value) } }
    mutating func encode(_ value: Int) throws { encoder.writeElement { writer.writeInteger(value) } }
    mutating func encode(_ value: Int8) throws { encoder.writeElement { writer.writeInteger(value) } }
    mutating func encode(_ value: Int16) throws { encoder.writeElement { writer.writeInteger(value) } }
    mutating func encode(_ value: Int32) throws { encoder.writeElement { writer.writeInteger(value) } }
    mutating func encode(_ value: Int64) throws { encoder.writeElement { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt) throws { encoder.writeElement { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt8) throws { encoder.writeElement { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt16) throws { encoder.writeElement { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt32) throws { encoder.writeElement { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt64) throws { encoder.writeElement { writer.writeInteger(value) } }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encoder.writeElement { _ = try writer.writeValue(value) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        writer.unsupported = true
        return writer.inertEncoder.container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        writer.unsupported = true
        return writer.inertEncoder.unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        writer.unsupported = true
        return writer.inertEncoder
    }
}

struct StreamSingleValueContainer: SingleValueEncodingContainer {
    /// Unowned: the encoder lives while its value is written, and containers do not outlive that.
    unowned(unsafe) let encoder: StreamEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    private var writer: JSONStreamWriter { encoder.writer }

    mutating func encodeNil() throws { encoder.writeSingle { writer.writeNull() } }
    mutating func encode(_ value: Bool) throws { encoder.writeSingle { writer.writeBool(value) } }
    mutating func encode(_ value: String) throws { encoder.writeSingle { writer.writeString(value) } }
    mutating func encode(_ value: Double) throws { try encoder.writeSingle { try writer.writeFloatingPoint(value) } }
    mutating func encode(_ value: Float) throws { try encoder.writeSingle { try writer.writeFloatingPoint(value) } }
    mutating func encode(_ value: Int) throws { encoder.writeSingle { writer.writeInteger(value) } }
    mutating func encode(_ value: Int8) throws { encoder.writeSingle { writer.writeInteger(value) } }
    mutating func encode(_ value: Int16) throws { encoder.writeSingle { writer.writeInteger(value) } }
    mutating func encode(_ value: Int32) throws { encoder.writeSingle { writer.writeInteger(value) } }
    mutating func encode(_ value: Int64) throws { encoder.writeSingle { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt) throws { encoder.writeSingle { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt8) throws { encoder.writeSingle { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt16) throws { encoder.writeSingle { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt32) throws { encoder.writeSingle { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt64) throws { encoder.writeSingle { writer.writeInteger(value) } }

    mutating func encode<T: Encodable>(_ value: T) throws {
        // The value is written at this encoder's depth: it *is* this encoder's value.
        try encoder.writeSingle {
            writer.depth -= 1
            defer { writer.depth += 1 }
            _ = try writer.writeValue(value)
        }
    }
}


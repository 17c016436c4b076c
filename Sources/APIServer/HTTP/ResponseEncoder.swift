import Domain
import Foundation

/// The response encoder: the same bytes as `JSONCoding.foundationEncoder` (snake_case keys, sorted
/// by their UTF-8 bytes as Foundation sorts them on Linux, RFC 3339 dates, slashes unescaped), written
/// straight into one buffer.
///
/// Foundation's encoder builds a tree of dictionaries, converts every key to snake_case on every
/// encode and casts each value against a dozen types; under a list of 20 projects that was more
/// than half of the server's CPU (BENCHMARKS.md, "Reads"). Here keys are converted once and cached
/// (`SnakeCaseKeys`), each object's members are written in the order they are encoded and
/// reordered in place when the object ends, and values are dispatched on their static type.
///
/// Codable allows what a stream cannot express: nested containers (`nestedContainer`,
/// `superEncoder`) written in any order, or two containers on one encoder. None of our bodies does
/// that; when a value does, or anything throws, the value is encoded again by Foundation's encoder,
/// which answers exactly as it always did (its error included).
///
/// The bodies of the lists (`JSONWritable`) skip Codable altogether and write themselves.
struct ResponseEncoder: Sendable {
    /// For what the stream does not handle, and the reference the tests compare against.
    let fallback: JSONEncoder

    func encode<T: Encodable>(_ value: T) throws -> Data {
        if let writable = value as? any JSONWritable {
            let writer = JSONStreamWriter(capacity: writable.estimatedJSONSize)
            writable.writeJSON(to: writer)
            return writer.bytes.data
        }
        let writer = JSONStreamWriter()
        do {
            try writer.writeTopLevel(value)
        } catch {
            return try fallback.encode(value)
        }
        if writer.unsupported { return try fallback.encode(value) }
        return writer.bytes.data
    }
}

/// Raised inside the writer to hand a value to Foundation (never leaves `ResponseEncoder`).
struct StreamUnsupported: Error {}

/// One member of an object being written: its converted key and where `"key":value` lies in `bytes`.
struct StreamMember {
    let key: String
    /// The key's first eight bytes, big-endian: orders most pairs of keys without reading them.
    let prefix: UInt64
    let start: Int
    let end: Int
}

/// The shared state of one `encode` call: the output, the members of every open object (a stack,
/// since objects nest strictly), and the depth of the value being written now.
final class JSONStreamWriter {
    static let maximumDepth = 512

    let bytes: JSONBytes
    // Unchecked: one thread owns a writer for one `encode` call, and the runtime's exclusivity
    // bookkeeping on every access was a fifth of the writer's time.
    @exclusivity(unchecked) var members: [StreamMember] = []
    @exclusivity(unchecked) var scratch: [UInt8] = []
    /// The depth of the value now being written; a container may only write at its own depth.
    @exclusivity(unchecked) var depth = 0
    /// Set when a value used Codable in a way the stream cannot follow; the result is discarded.
    @exclusivity(unchecked) var unsupported = false
    @exclusivity(unchecked) private var spareEncoders: [StreamEncoder?] = []
    /// The encoder behind the containers handed out for what a stream cannot follow (nested
    /// containers, super encoders): never current, so whatever they are given marks the value
    /// `unsupported`. Owned here because containers do not keep their encoder alive.
    private(set) lazy var inertEncoder: StreamEncoder = {
        let encoder = StreamEncoder(writer: self)
        encoder.depth = -1
        return encoder
    }()

    static let defaultCapacity = 2048

    init(capacity: Int = JSONStreamWriter.defaultCapacity) {
        bytes = JSONBytes(capacity: capacity)
        members.reserveCapacity(32)
    }

    func writeTopLevel<T: Encodable>(_ value: T) throws {
        // Foundation refuses a top-level value that writes nothing; the fallback says so.
        guard try writeValue(value) else { throw StreamUnsupported() }
    }

    /// Writes one value at `depth + 1`. Returns false when it wrote nothing (only possible for a
    /// value whose `encode(to:)` touched no container), after writing `{}` as Foundation does for
    /// a nested value.
    @discardableResult
    func writeValue<T: Encodable>(_ value: T) throws -> Bool {
        if T.self == String.self {
            writeString(withUnsafePointer(to: value) { $0.withMemoryRebound(to: String.self, capacity: 1) { $0.pointee } })
            return true
        }
        if T.self == Money.self {
            writeMoney(withUnsafePointer(to: value) { $0.withMemoryRebound(to: Money.self, capacity: 1) { $0.pointee } })
            return true
        }
        if T.self == Date.self {
            writeDate(withUnsafePointer(to: value) { $0.withMemoryRebound(to: Date.self, capacity: 1) { $0.pointee } })
            return true
        }
        if T.self == Decimal.self {
            // Foundation writes a Decimal as a bare number in its own description.
            let decimal = withUnsafePointer(to: value) { $0.withMemoryRebound(to: Decimal.self, capacity: 1) { $0.pointee } }
            bytes.append(contentsOf: decimal.description.utf8)
            return true
        }
        if T.self == Data.self {
            let data = withUnsafePointer(to: value) { $0.withMemoryRebound(to: Data.self, capacity: 1) { $0.pointee } }
            writeString(data.base64EncodedString())
            return true
        }
        if T.self == URL.self {
            let url = withUnsafePointer(to: value) { $0.withMemoryRebound(to: URL.self, capacity: 1) { $0.pointee } }
            writeString(url.absoluteString)
            return true
        }
        guard depth < Self.maximumDepth else { throw StreamUnsupported() }
        if let dictionary = value as? any StreamableDictionary {
            // Keys of string-keyed dictionaries are data, not names: no snake_case, as in Foundation.
            depth += 1
            defer { depth -= 1 }
            try dictionary.writeMembers(to: self)
            return true
        }
        depth += 1
        defer { depth -= 1 }
        let encoder = takeEncoder()
        defer { returnEncoder(encoder) }
        try value.encode(to: encoder)
        switch encoder.state {
        case .empty:
            writeLiteral("{}")
            return false
        case .single:
            return true
        case .object(let memberBase):
            closeObject(memberBase: memberBase)
            return true
        case .array:
            bytes.append(UInt8(ascii: "]"))
            return true
        }
    }

    // MARK: Objects

    /// Writes `,"key":` for the next member of the object open at `depth` and returns where it starts.
    func beginMember(_ key: String, memberBase: Int) -> Int {
        if members.count > memberBase { bytes.append(UInt8(ascii: ",")) }
        let start = bytes.count
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
        return start
    }

    func endMember(_ key: String, start: Int) {
        members.append(StreamMember(key: key, prefix: Self.prefix(of: key), start: start, end: bytes.count))
    }

    static func prefix(of key: String) -> UInt64 {
        var prefix: UInt64 = 0
        var count = 0
        for byte in key.utf8 {
            prefix = prefix << 8 | UInt64(byte)
            count += 1
            if count == 8 { break }
        }
        return count == 8 ? prefix : prefix << (8 * UInt64(8 - count))
    }

    /// Puts the members written since `memberBase` in Foundation's order (UTF-8 bytes of the key;
    /// the last of equal keys wins) and closes the object.
    func closeObject(memberBase: Int) {
        defer {
            members.removeSubrange(memberBase...)
            bytes.append(UInt8(ascii: "}"))
        }
        guard members.count - memberBase > 1 else { return }
        // Insertion sort, stable: objects have a handful of members, usually few out of place.
        var moved = false
        var index = memberBase + 1
        while index < members.count {
            let member = members[index]
            var hole = index
            while hole > memberBase, Self.precedes(member, members[hole - 1]) {
                members[hole] = members[hole - 1]
                hole -= 1
            }
            if hole != index {
                members[hole] = member
                moved = true
            }
            index += 1
        }
        var duplicate = false
        for index in (memberBase + 1)..<members.count where members[index].key == members[index - 1].key {
            duplicate = true
            break
        }
        guard moved || duplicate else { return }
        let objectStart = members[memberBase...].map(\.start).min() ?? bytes.count
        scratch.removeAll(keepingCapacity: true)
        bytes.withBytes(from: objectStart) { scratch.append(contentsOf: $0) }
        bytes.removeLast(from: objectStart)
        scratch.withUnsafeBufferPointer { saved in
            var first = true
            for index in memberBase..<members.count {
                let member = members[index]
                if index + 1 < members.count, members[index + 1].key == member.key { continue }
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: saved[(member.start - objectStart)..<(member.end - objectStart)]))
            }
        }
    }

    /// UTF-8 byte order of the keys, as Foundation sorts them on Linux.
    static func precedes(_ a: StreamMember, _ b: StreamMember) -> Bool {
        if a.prefix != b.prefix { return a.prefix < b.prefix }
        return precedes(a.key, b.key)
    }

    static func precedes(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { a in
            b.withUTF8 { b in
                let common = min(a.count, b.count)
                if common > 0, let aBase = a.baseAddress, let bBase = b.baseAddress {
                    let order = memcmp(aBase, bBase, common)
                    if order != 0 { return order < 0 }
                }
                return a.count < b.count
            }
        }
    }

    // MARK: Encoders

    private func takeEncoder() -> StreamEncoder {
        let encoder: StreamEncoder
        if depth < spareEncoders.count, let spare = spareEncoders[depth] {
            spareEncoders[depth] = nil
            encoder = spare
        } else {
            encoder = StreamEncoder(writer: self)
        }
        encoder.depth = depth
        encoder.state = .empty
        return encoder
    }

    /// Keeps the encoder for the next value at this depth unless the value held on to it.
    private func returnEncoder(_ encoder: StreamEncoder) {
        var encoder = encoder
        guard isKnownUniquelyReferenced(&encoder) else { return }
        while spareEncoders.count <= encoder.depth { spareEncoders.append(nil) }
        spareEncoders[encoder.depth] = encoder
    }
}

/// `[String: Value]`: written member by member
/// with their keys as given, the way Foundation exempts them from the key strategy.
protocol StreamableDictionary {
    func writeMembers(to writer: JSONStreamWriter) throws
}

extension Dictionary: StreamableDictionary where Key == String, Value: Encodable {
    func writeMembers(to writer: JSONStreamWriter) throws {
        writer.bytes.append(UInt8(ascii: "{"))
        let memberBase = writer.members.count
        for (key, value) in self {
            let name = key
            let start = writer.beginMember(name, memberBase: memberBase)
            try writer.writeValue(value)
            writer.endMember(name, start: start)
        }
        writer.closeObject(memberBase: memberBase)
    }
}


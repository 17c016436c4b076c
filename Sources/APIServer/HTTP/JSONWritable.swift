import Domain
import Foundation

/// A response body that writes itself: members under their wire names, in the order
/// `JSONCoding.foundationEncoder` sorts them (UTF-8 bytes of the name), each value through the
/// writer's scalar functions. The bytes are Foundation's, which each conformance's test checks
/// byte for byte (ResponseWriterTests); what the stream gains is Codable itself: no encoder or
/// container per value, no key conversion, no member reordering, no dynamic casts.
///
/// For the bodies that lists return many of; any other body still goes through the Codable stream.
protocol JSONWritable: Encodable {
    func writeJSON(to json: JSONStreamWriter)
    /// Bytes to reserve before writing: a list's whole body at once instead of growing (and
    /// copying) the buffer several times on the way.
    var estimatedJSONSize: Int { get }
}

extension JSONWritable {
    var estimatedJSONSize: Int { JSONStreamWriter.defaultCapacity }
}

extension JSONStreamWriter {
    /// `{"name":` for an object's first member. Names are our own ASCII literals, never escaped.
    func openObject(firstKey name: StaticString) {
        bytes.append(UInt8(ascii: "{"))
        writeName(name)
    }

    /// `,"name":` for every later member.
    func key(_ name: StaticString) {
        bytes.append(UInt8(ascii: ","))
        writeName(name)
    }

    /// A member's punctuation and name given whole, as `#",\"name\":"#` (or `#"{"name":"#` for an
    /// object's first): one append where `key` makes four.
    @inline(__always)
    func member(_ text: StaticString) {
        writeLiteral(text)
    }

    func closeObject() {
        bytes.append(UInt8(ascii: "}"))
    }

    private func writeName(_ name: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        writeLiteral(name)
        writeLiteral("\":")
    }

    /// `[` the elements, comma-separated `]`.
    func writeArray<Element>(_ elements: [Element], _ write: (Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for element in elements {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            write(element)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    func writeString(_ value: String?) {
        if let value { writeString(value) } else { writeNull() }
    }

    /// A UUID in quotes, lower-case as `UUID.lowercasedString` spells it, with no `String` made.
    func writeUUID(_ id: UUID) {
        withUnsafeBytes(of: id.uuid) { uuid in
            // 38 bytes on the stack: quotes, 32 digits, 4 dashes.
            var text: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &text) { out in
                out[0] = UInt8(ascii: "\"")
                var index = 1
                for position in 0..<16 {
                    if position == 4 || position == 6 || position == 8 || position == 10 {
                        out[index] = UInt8(ascii: "-")
                        index += 1
                    }
                    out[index] = Self.lowerHexDigit(uuid[position] >> 4)
                    out[index + 1] = Self.lowerHexDigit(uuid[position] & 0x0F)
                    index += 2
                }
                out[index] = UInt8(ascii: "\"")
                bytes.append(contentsOf: UnsafeBufferPointer(start: out.baseAddress?.assumingMemoryBound(to: UInt8.self), count: index + 1))
            }
        }
    }

    private static func lowerHexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    func writeDate(_ value: Date?) {
        if let value { writeDate(value) } else { writeNull() }
    }

    func writeMoney(_ value: Money?) {
        if let value { writeMoney(value) } else { writeNull() }
    }
}

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

    func writeDate(_ value: Date?) {
        if let value { writeDate(value) } else { writeNull() }
    }

    func writeMoney(_ value: Money?) {
        if let value { writeMoney(value) } else { writeNull() }
    }
}

import Foundation

/// Reads a `text/event-stream` body (WHATWG HTML §9.2) incrementally, as its bytes arrive in
/// pieces of any size: lines end in LF, CRLF or CR, `event:` names an event, `data:` lines are
/// joined with LF, a blank line dispatches, `:` lines are comments. A line longer than
/// `maximumLineBytes` stops the reader (a hostile or broken stream must not grow memory).
struct ServerSentEventReader {
    struct Event: Equatable {
        var name: String?
        var data: String
    }

    static let maximumLineBytes = 1 << 20

    private var line: [UInt8] = []
    private var name: String?
    private var data: [String] = []
    private var hasData = false
    /// The last byte was a CR: an LF right after it ends nothing more.
    private var afterCR = false
    private(set) var lineTooLong = false

    /// Feeds bytes; `emit` gets each complete event and returns false to stop. Returns false once
    /// stopped (a line too long, or `emit` refused).
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Event) -> Bool) -> Bool {
        guard !lineTooLong else { return false }
        for byte in bytes {
            if byte == 0x0A && afterCR {
                afterCR = false
                continue
            }
            afterCR = byte == 0x0D
            if byte == 0x0A || byte == 0x0D {
                if let event = endLine(), !emit(event) { return false }
                continue
            }
            guard line.count < Self.maximumLineBytes else {
                lineTooLong = true
                return false
            }
            line.append(byte)
        }
        return true
    }

    /// Whether bytes of an event arrived that no blank line has dispatched yet.
    var hasPartialEvent: Bool { !line.isEmpty || hasData || name != nil }

    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer { name = nil; data = []; hasData = false }
            return hasData ? Event(name: name, data: data.joined(separator: "\n")) : nil
        }
        if line.first == 0x3A { return nil }
        let text = String(decoding: line, as: UTF8.self)
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
        } else {
            field = Substring(text)
            value = ""
        }
        switch field {
        case "event": name = String(value)
        case "data":
            data.append(String(value))
            hasData = true
        default: break
        }
        return nil
    }
}

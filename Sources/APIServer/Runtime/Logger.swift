import Foundation
import Synchronization

/// One JSON object per line on stdout. Callers pass only fields that are safe to log: never
/// bodies, `Authorization`, cookies, query strings or secrets.
final class Logger: Sendable {
    enum Level: Int, Comparable, Sendable {
        case debug = 0, info, warn, error

        init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warn
            case "error": self = .error
            default: return nil
            }
        }

        var name: String { ["debug", "info", "warn", "error"][rawValue] }
        static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    let minimumLevel: Level
    /// nil: lines go to standard output through `LogBuffer`. Tests pass a closure to read them.
    private let sink: (@Sendable (String) -> Void)?

    init(minimumLevel: Level = .info, sink: (@Sendable (String) -> Void)? = nil) {
        self.minimumLevel = minimumLevel
        self.sink = sink
    }

    /// Fields from a computed dictionary, written in key order.
    func log(_ level: Level, _ message: String, fields: [String: LogValue]) {
        guard level >= minimumLevel else { return }
        write(level, message, fields.sorted { $0.key < $1.key })
    }

    /// Fields as written at the call site (a dictionary literal), with no hashing or sorting:
    /// this runs once per request.
    func log(_ level: Level, _ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        guard level >= minimumLevel else { return }
        write(level, message, fields.map { ($0.key, $0.value) })
    }

    private func write(_ level: Level, _ message: String, _ fields: [(key: String, value: LogValue)]) {
        // Built as UTF-8 bytes by hand: this runs once per request, and both JSONEncoder and
        // String concatenation cost a visible share of a small request.
        var line: [UInt8] = []
        line.reserveCapacity(256)
        line.append(contentsOf: #"{"time":""#.utf8)
        Timestamp.appendRFC3339(Date(), to: &line)
        line.append(contentsOf: #"","level":""#.utf8)
        line.append(contentsOf: level.name.utf8)
        line.append(contentsOf: #"","msg":"#.utf8)
        LogValue.appendQuoted(message, to: &line)
        for (key, value) in fields {
            line.append(UInt8(ascii: ","))
            LogValue.appendQuoted(key, to: &line)
            line.append(UInt8(ascii: ":"))
            value.append(to: &line)
        }
        line.append(UInt8(ascii: "}"))
        if let sink {
            sink(String(decoding: line, as: UTF8.self))
        } else {
            // Lines go to a shared buffer that one background thread writes out every few
            // milliseconds: one `write` per request cost a quarter of a small request's throughput.
            LogBuffer.standardOutput.append(line)
        }
    }

    func info(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.info, message, fields) }
    func warn(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.warn, message, fields) }
    func error(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.error, message, fields) }
    func debug(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.debug, message, fields) }

    /// Writes out everything logged so far; called before the process exits. A reader that has
    /// stopped reading gets two seconds, then the rest is lost rather than the exit.
    static func flush() {
        LogBuffer.standardOutput.flush(givingUpAfter: 2)
    }
}

enum LogValue: Sendable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    /// A duration written in milliseconds with three decimals, without floating point.
    case milliseconds(nanoseconds: UInt64)

    func append(to line: inout [UInt8]) {
        switch self {
        case .string(let value): Self.appendQuoted(value, to: &line)
        case .int(let value): line.append(contentsOf: String(value).utf8)
        case .double(let value): line.append(contentsOf: (value.isFinite ? String(value) : "null").utf8)
        case .bool(let value): line.append(contentsOf: (value ? "true" : "false").utf8)
        case .milliseconds(let nanoseconds):
            let microseconds = (nanoseconds + 500) / 1000
            line.append(contentsOf: String(microseconds / 1000).utf8)
            line.append(UInt8(ascii: "."))
            let fraction = Int(microseconds % 1000)
            line.append(UInt8(48 + fraction / 100))
            line.append(UInt8(48 + fraction / 10 % 10))
            line.append(UInt8(48 + fraction % 10))
        }
    }

    /// A JSON string literal (RFC 8259 §7): quote, backslash and control characters escaped.
    static func appendQuoted(_ text: String, to line: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            line.append(UInt8(ascii: "\""))
            // Most values need no escaping, and appending them whole is a plain copy.
            if !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                line.append(contentsOf: bytes)
            } else {
                for byte in bytes { appendEscaped(byte, to: &line) }
            }
            line.append(UInt8(ascii: "\""))
        }
    }

    private static func appendEscaped(_ byte: UInt8, to line: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): line.append(contentsOf: #"\""#.utf8)
        case UInt8(ascii: "\\"): line.append(contentsOf: #"\\"#.utf8)
        case UInt8(ascii: "\n"): line.append(contentsOf: #"\n"#.utf8)
        case UInt8(ascii: "\r"): line.append(contentsOf: #"\r"#.utf8)
        case UInt8(ascii: "\t"): line.append(contentsOf: #"\t"#.utf8)
        case 0..<0x20:
            // Other control characters as \u00XX; bytes of multi-byte UTF-8 pass through.
            let digits = Array("0123456789abcdef".utf8)
            line.append(contentsOf: #"\u00"#.utf8)
            line.append(digits[Int(byte >> 4)])
            line.append(digits[Int(byte & 0xF)])
        default: line.append(byte)
        }
    }
}

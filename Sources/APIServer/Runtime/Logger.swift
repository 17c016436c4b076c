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
    private let sink: @Sendable (String) -> Void

    init(minimumLevel: Level = .info, sink: @escaping @Sendable (String) -> Void = Logger.standardOutput) {
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
        // Written by hand rather than with JSONEncoder: this runs once per request, and the
        // encoder's generality cost more than the whole request before.
        var line = ""
        line.reserveCapacity(256)
        line += "{\"time\":\"" + Timestamp.rfc3339(Date()) + "\",\"level\":\"" + level.name + "\",\"msg\":"
        LogValue.appendQuoted(message, to: &line)
        for (key, value) in fields {
            line += ","
            LogValue.appendQuoted(key, to: &line)
            line += ":"
            value.append(to: &line)
        }
        line += "}"
        sink(line)
    }

    func info(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.info, message, fields) }
    func warn(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.warn, message, fields) }
    func error(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.error, message, fields) }
    func debug(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.debug, message, fields) }

    /// Lines go to a shared buffer that one background thread writes out every few milliseconds
    /// (or at once when it fills, or on `flush`): one `write` per request cost a quarter of the
    /// throughput of a small request. Whole lines only, so lines never interleave.
    @Sendable static func standardOutput(_ line: String) {
        LogBuffer.standardOutput.append(line)
    }

    /// Writes out everything logged so far; called before the process exits.
    static func flush() {
        LogBuffer.standardOutput.flush()
    }

}

enum LogValue: Sendable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)

    func append(to line: inout String) {
        switch self {
        case .string(let value): Self.appendQuoted(value, to: &line)
        case .int(let value): line += String(value)
        case .double(let value): line += value.isFinite ? String(value) : "null"
        case .bool(let value): line += value ? "true" : "false"
        }
    }

    /// A JSON string literal (RFC 8259 §7): quote, backslash and control characters escaped.
    static func appendQuoted(_ text: String, to line: inout String) {
        line += "\""
        // Most values need no escaping; appending them whole is far cheaper than scalar by scalar.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            line += text
            line += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                line += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }
}

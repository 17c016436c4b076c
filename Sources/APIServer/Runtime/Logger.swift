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

    func log(_ level: Level, _ message: String, _ fields: [String: LogValue] = [:]) {
        guard level >= minimumLevel else { return }
        var object: [String: LogValue] = fields
        object["time"] = .string(JSONCoding.rfc3339(Date()))
        object["level"] = .string(level.name)
        object["msg"] = .string(message)
        let line = (try? JSONCoding.logEncoder.encode(object)).map { String(decoding: $0, as: UTF8.self) } ?? "{\"msg\":\"unencodable log line\"}"
        sink(line)
    }

    func info(_ message: String, _ fields: [String: LogValue] = [:]) { log(.info, message, fields) }
    func warn(_ message: String, _ fields: [String: LogValue] = [:]) { log(.warn, message, fields) }
    func error(_ message: String, _ fields: [String: LogValue] = [:]) { log(.error, message, fields) }
    func debug(_ message: String, _ fields: [String: LogValue] = [:]) { log(.debug, message, fields) }

    /// Whole lines in one `write`, under a lock, so lines from different threads never interleave.
    @Sendable static func standardOutput(_ line: String) {
        outputLock.withLock { _ in
            var bytes = Array((line + "\n").utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
                if written <= 0 { break }
                offset += written
            }
        }
    }

    private static let outputLock = Mutex(())
}

enum LogValue: Encodable, Sendable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        }
    }
}

extension JSONCoding {
    /// Log lines keep their keys as written (already snake_case) and in a stable order.
    static let logEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

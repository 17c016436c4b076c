import Domain
import Foundation

/// One structured log line from the provider layer.
public struct ProviderLogRecord: Sendable, Equatable {
    public enum Level: String, Sendable {
        case debug, info, warning, error
    }

    public let level: Level
    public let event: String
    public let provider: ProviderID?
    public let fields: [String: String]

    /// One JSON object per line, the project's log format (DESIGN.md "Conventions").
    public var jsonLine: String {
        var object = WireJSONObject()
        object["level"] = .string(level.rawValue)
        object["event"] = .string(event)
        object["provider"] = provider.map { .string($0.rawValue) }
        for key in fields.keys.sorted() { object[key] = .string(fields[key] ?? "") }
        return WireJSON.object(object).jsonText
    }
}

/// The single sink for everything the provider layer logs. Every field is scrubbed of the
/// call's key and of key-shaped text before it reaches the sink, and request headers and bodies
/// are never logged at all, so a sink can be handed to any log pipeline.
public struct ProviderLogger: Sendable {
    private let sink: @Sendable (ProviderLogRecord) -> Void

    public init(_ sink: @escaping @Sendable (ProviderLogRecord) -> Void) {
        self.sink = sink
    }

    public static let discard = ProviderLogger { _ in }

    public static let standardError = ProviderLogger { record in
        let line = record.jsonLine + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    public func log(_ level: ProviderLogRecord.Level, _ event: String, provider: ProviderID?,
                    _ fields: [String: String] = [:], scrubbing secrets: [String] = []) {
        let scrubbed = fields.mapValues { SecretScrubber.scrub($0, secrets: secrets) }
        sink(ProviderLogRecord(level: level, event: event, provider: provider, fields: scrubbed))
    }
}

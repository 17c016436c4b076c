import Domain
import Foundation

/// The `text/event-stream` wire format (WHATWG HTML §9.2) of generation events.
enum ServerSentEvents {
    /// How long an `EventSource` waits before reconnecting, sent first on every stream.
    static let retryMilliseconds = 3000

    static var preamble: String { "retry: \(retryMilliseconds)\n\n" }

    /// `id:` the cursor to resume after (`Last-Event-ID`: the event's id, or on a stream over many
    /// generations its position), `event:` its type, `data:` one line of JSON: the event's id,
    /// generation, project, type, time and the engine's payload.
    static func format(_ event: StoredGenerationEvent, id: String) -> String {
        "id: \(id)\nevent: \(event.type)\ndata: \(data(event))\n\n"
    }

    static func data(_ event: StoredGenerationEvent) -> String {
        // The payload is a jsonb object's text (never a raw line break); anything else is sent as {}.
        let payload = event.payloadJSON.hasPrefix("{") && !event.payloadJSON.contains("\n") ? event.payloadJSON : "{}"
        return "{\"id\":\(event.id),\"generation_id\":\"\(event.generationID.lowercasedString)\","
            + "\"project_id\":\"\(event.projectID.lowercasedString)\",\"type\":\(quoted(event.type)),"
            + "\"created_at\":\"\(Timestamp.rfc3339(event.createdAt))\",\"payload\":\(payload)}"
    }

    private static func quoted(_ text: String) -> String {
        let encoded = try? JSONEncoder().encode(text)
        return encoded.map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }
}

import Foundation

/// A request as the fake sees it: read whole (up to the body cap), header names lowercased.
struct FakeRequest: Sendable {
    let method: String
    /// The decoded path without the query.
    let path: String
    let query: [String: String]
    let headers: [String: String]
    let body: Data
    /// `http://127.0.0.1:<port>`: where URLs handed out in answers point, so downloads and
    /// polls come back here.
    let origin: String

    func header(_ name: String) -> String? { headers[name] }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// An answer, plus how to deliver it: late, or cut off mid-body.
struct FakeResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: Data
    /// Seconds to hold the answer (the connection is suspended meanwhile, not a thread).
    var delay: Double = 0
    /// Declare the full length, send half the body, then drop the connection. For `events`:
    /// send half of them, then drop the connection.
    var cutOff = false
    /// An SSE answer sent event by event (`StreamedBody`) instead of `body`.
    var events: [Data]?
    /// The index of the first event that carries text (where `hold` stops the stream).
    var firstContentEvent = 0
    /// Seconds between events (`paced:SECONDS`).
    var pace: Double = 0
    /// Hold after the first content event until `POST /_fake/release` (`held`).
    var hold = false

    init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) -> FakeResponse {
        FakeResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: value.data)
    }

    static func bytes(_ data: Data, contentType: String, headers: [(String, String)] = []) -> FakeResponse {
        FakeResponse(status: 200, headers: [("Content-Type", contentType)] + headers, body: data)
    }

    /// An SSE stream of `events`; `firstContent` indexes the first one carrying text.
    static func events(_ events: [String], firstContent: Int, headers: [(String, String)] = []) -> FakeResponse {
        var response = FakeResponse(status: 200, headers: [("Content-Type", "text/event-stream")] + headers,
                                    body: Data(events.joined().utf8))
        response.events = events.map { Data($0.utf8) }
        response.firstContentEvent = firstContent
        return response
    }

    static func empty(_ status: Int, headers: [(String, String)] = []) -> FakeResponse {
        FakeResponse(status: status, headers: headers)
    }

    var isJSON: Bool {
        headers.contains { $0.0.lowercased() == "content-type" && $0.1.lowercased().hasPrefix("application/json") }
    }

    func adding(_ extra: [(String, String)]) -> FakeResponse {
        var copy = self
        copy.headers += extra
        return copy
    }
}

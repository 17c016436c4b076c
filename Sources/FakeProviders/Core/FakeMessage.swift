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
    /// Declare the full length, send half the body, then drop the connection.
    var cutOff = false

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

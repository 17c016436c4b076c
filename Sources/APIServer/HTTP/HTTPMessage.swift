import Foundation

/// A request as the application sees it: already read whole, header names lowercased.
struct HTTPRequest: Sendable {
    var method: String
    var path: String
    /// Query parameters, URL-decoded by libmicrohttpd; the first value wins for repeated keys.
    var query: [String: String]
    var headers: [String: String]
    var body: Data
    var requestID: String
    /// The peer's IP address as seen on the socket.
    var socketAddress: String = ""
    /// Filled by the router from the matched path template.
    var pathParameters: [String: String] = [:]

    /// `name` in lowercase, as the transport stores them (checked in debug builds): lowercasing
    /// here on every call cost a visible share of a small request.
    func header(_ name: String) -> String? {
        assert(name == name.lowercased(), "header names are looked up in lowercase")
        return headers[name]
    }
}

/// A response before the transport adds the headers every response carries.
struct HTTPResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: Data
    /// A body written over time instead of `body` (Server-Sent Events).
    var stream: ResponseStream?
    /// A body of known length read from storage as it is sent (asset downloads) instead of `body`.
    var blob: BlobBody?

    init(status: Int, headers: [(String, String)] = [], body: Data = Data(), stream: ResponseStream? = nil, blob: BlobBody? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream
        self.blob = blob
    }

    static func json(_ value: some Encodable, status: Int = 200) throws -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: try JSONCoding.encoder.encode(value))
    }

    /// A JSON body already written (a remembered one).
    static func json(bytes: Data, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: bytes)
    }

    static func noContent() -> HTTPResponse {
        HTTPResponse(status: 204)
    }

    /// Header names are ASCII, so a byte-wise case-insensitive match is exact (and avoids
    /// Foundation's locale-aware comparison on every response).
    func header(_ name: String) -> String? {
        headers.first { Self.asciiEqualIgnoringCase($0.0, name) }?.1
    }

    private static func asciiEqualIgnoringCase(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        func lower(_ byte: UInt8) -> UInt8 { (65...90).contains(byte) ? byte | 0x20 : byte }
        return zip(a.utf8, b.utf8).allSatisfy { lower($0) == lower($1) }
    }
}

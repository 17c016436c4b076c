import Crypto
import Foundation

/// A document the server holds in memory and serves as is (the OpenAPI file, the reference page):
/// its bytes, a strong `ETag` computed once from them, and the answer to a conditional GET.
struct ServedDocument: Sendable {
    let bytes: Data
    let contentType: String
    /// `"sha256-<hex>"`: strong, so any change of a byte changes it.
    let etag: String
    private let headers: [(String, String)]

    /// Public and the same for everyone, so shared caches may keep it; five minutes bounds how long
    /// a client sees the previous contract after a deployment.
    static let cacheControl = "public, max-age=300"

    init(bytes: Data, contentType: String, extraHeaders: [(String, String)] = []) throws {
        self.bytes = bytes
        self.contentType = contentType
        etag = "\"sha256-" + (try SHA256.hash(bytes)).map { String(format: "%02x", $0) }.joined() + "\""
        headers = [("ETag", etag), ("Cache-Control", Self.cacheControl)] + extraHeaders
    }

    /// 304 without a body when `If-None-Match` names the current tag (or is `*`), else 200 with the bytes.
    /// HEAD is routed here too; the transport sends its headers without the body.
    func respond(_ request: HTTPRequest) -> HTTPResponse {
        if let condition = request.header("if-none-match"), Self.matches(condition, etag: etag) {
            return HTTPResponse(status: 304, headers: [("ETag", etag), ("Cache-Control", Self.cacheControl)])
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", contentType)] + headers, body: bytes)
    }

    /// RFC 9110 §13.1.2: `*`, or a comma-separated list compared weakly (`W/"x"` matches `"x"`).
    /// Anything that is not a well-formed tag simply matches nothing, so the client gets the document.
    static func matches(_ condition: String, etag: String) -> Bool {
        let trimmed = condition.trimmingCharacters(in: .whitespaces)
        if trimmed == "*" { return true }
        return trimmed.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }
}

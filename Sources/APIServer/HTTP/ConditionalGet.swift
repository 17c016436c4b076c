import Foundation

/// `If-None-Match` on reads (RFC 9110 §13.1.2): a client holding the current representation gets
/// 304 without the body. Applies to every GET/HEAD answered 200 with an `ETag`, so a route that
/// sends an ETag gets revalidation without code of its own.
enum ConditionalGet {
    static func notModified(_ response: HTTPResponse, method: String, ifNoneMatch: String?) -> HTTPResponse? {
        guard method == "GET" || method == "HEAD", response.status == 200, let ifNoneMatch,
              let etag = response.header("ETag"), matches(ifNoneMatch, etag) else { return nil }
        // The validators and caching headers stay; the body and its type go (a 304 has none).
        let kept = response.headers.filter { name, _ in
            let lower = name.lowercased()
            return lower != "content-type" && lower != "content-length"
        }
        return HTTPResponse(status: 304, headers: kept)
    }

    /// Weak comparison, as If-None-Match uses: `W/` is ignored on both sides; `*` matches any tag.
    static func matches(_ header: String, _ etag: String) -> Bool {
        let current = opaque(etag)
        for member in header.split(separator: ",") {
            let tag = member.trimmingCharacters(in: .whitespaces)
            if tag == "*" || (!tag.isEmpty && opaque(tag) == current) { return true }
        }
        return false
    }

    private static func opaque(_ tag: some StringProtocol) -> Substring {
        let text = Substring(tag)
        return text.hasPrefix("W/") ? text.dropFirst(2) : text
    }
}

import Foundation

/// Which browser origins may call the API. Origins are compared exactly (scheme, host, port);
/// `*` allows any origin, which is safe here because the API uses bearer tokens, not cookies.
///
/// In `APP_ENV=development` any `http://localhost:PORT` and `http://127.0.0.1:PORT` origin is
/// allowed as well, so a front end on its dev server works without configuration; the
/// composition root never sets `allowsLoopbackOrigins` in production or test.
struct CORSPolicy: Sendable {
    let allowedOrigins: Set<String>
    var allowsLoopbackOrigins = false
    /// Every request header the API reads (`x-project-id`: the chat surface's project; `if-none-match`,
    /// `range`, `if-range`: a PWA revalidating JSON, which is `no-store`, or reading media by parts).
    static let allowedHeaders: Set<String> = ["authorization", "content-type", "x-request-id", "idempotency-key", "if-match",
                                              "if-none-match", "range", "if-range", "prefer", "apikey", "x-client-info",
                                              "x-supabase-api-version", "last-event-id", "x-project-id"]
    /// OpenAI's SDKs send their platform and retry details in `x-stainless-*` headers on every
    /// request; the API ignores them, but a browser sends none of a request whose preflight refused one.
    static let allowedHeaderPrefixes = ["x-stainless-"]
    /// Every response header the API documents for clients to read; a browser hides any not named here.
    static let exposedHeaders = ["ETag", "X-Request-Id", "Retry-After", "Location", "X-Cost-USD", "X-Generation-Id",
                                 "Idempotent-Replayed", "Preference-Applied", "Content-Disposition", "Content-Range",
                                 "Accept-Ranges", "X-Supabase-Api-Version", "x-sb-error-code"].joined(separator: ", ")
    static let maxAgeSeconds = 600
    /// A requested header's name at most this long (a preflight echoes the names it allows).
    static let maximumHeaderNameLength = 64

    static func allowsHeader(_ name: String) -> Bool {
        guard !allowedHeaders.contains(name) else { return true }
        return name.utf8.count <= maximumHeaderNameLength && allowedHeaderPrefixes.contains { name.hasPrefix($0) }
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }

    func allows(_ origin: String) -> Bool {
        allowedOrigins.contains("*") || allowedOrigins.contains(origin) || (allowsLoopbackOrigins && Self.isLoopbackOrigin(origin))
    }

    /// `http://localhost` or `http://127.0.0.1`, with or without a port of 1–5 digits: exactly,
    /// so `http://localhost.evil.example` or `http://127.0.0.1@evil.example` never match.
    static func isLoopbackOrigin(_ origin: String) -> Bool {
        for host in ["http://localhost", "http://127.0.0.1"] where origin.hasPrefix(host) {
            let rest = origin.dropFirst(host.count)
            if rest.isEmpty { return true }
            guard rest.first == ":" else { return false }
            let port = rest.dropFirst()
            return (1...5).contains(port.count) && port.allSatisfy { $0.isASCII && $0.isNumber } && (Int(port) ?? 0) <= 65535
        }
        return false
    }

    /// Headers for an ordinary response to an allowed origin.
    func responseHeaders(origin: String?) -> [(String, String)] {
        guard let origin, allows(origin) else { return [] }
        return [("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", Self.exposedHeaders), ("Vary", "Origin")]
    }

    /// The answer to a preflight, or nil when the origin is not allowed.
    func preflight(origin: String, requestedMethod: String, requestedHeaders: String?, pathMethods: [String]) -> [(String, String)]? {
        guard allows(origin), pathMethods.contains(requestedMethod) else { return nil }
        let requested = (requestedHeaders ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
        guard requested.allSatisfy(Self.allowsHeader) else { return nil }
        // The fixed names, and any allowed by prefix that this preflight asked for (a list cannot name them all).
        let prefixed = requested.filter { !Self.allowedHeaders.contains($0) }
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", pathMethods.joined(separator: ", ")),
            ("Access-Control-Allow-Headers", (Self.allowedHeaders.sorted() + Set(prefixed).sorted()).joined(separator: ", ")),
            ("Access-Control-Max-Age", String(Self.maxAgeSeconds)),
            ("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ]
    }
}

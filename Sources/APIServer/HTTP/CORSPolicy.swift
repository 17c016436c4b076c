import Foundation

/// Which browser origins may call the API. Origins are compared exactly (scheme, host, port);
/// `*` allows any origin, which is safe here because the API uses bearer tokens, not cookies.
struct CORSPolicy: Sendable {
    let allowedOrigins: Set<String>
    static let allowedHeaders = ["authorization", "content-type", "x-request-id", "idempotency-key", "if-match",
                                 "prefer", "apikey", "x-client-info", "x-supabase-api-version"]
    static let exposedHeaders = "ETag, X-Request-Id, Retry-After, Location"
    static let maxAgeSeconds = 600

    func allows(_ origin: String) -> Bool {
        allowedOrigins.contains("*") || allowedOrigins.contains(origin)
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
        guard requested.allSatisfy(Self.allowedHeaders.contains) else { return nil }
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", pathMethods.joined(separator: ", ")),
            ("Access-Control-Allow-Headers", Self.allowedHeaders.joined(separator: ", ")),
            ("Access-Control-Max-Age", String(Self.maxAgeSeconds)),
            ("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ]
    }
}

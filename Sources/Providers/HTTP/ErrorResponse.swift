import Domain
import Foundation

/// A non-2xx answer, prepared for a provider's error mapping: the body parsed if it is JSON, the
/// server's requested wait read, and the call's secrets at hand for scrubbing.
public struct ErrorResponse: Sendable {
    public let provider: ProviderID
    public let status: Int
    public let headers: HTTPHeaders
    public let body: Data
    public let json: WireJSON?
    /// From `retry-after-ms` / `retry-after`.
    public let retryAfter: Double?
    public let providerRequestID: String?
    let secrets: [String]

    init(provider: ProviderID, response: OutboundResponse, retryAfter: Double?, secrets: [String]) {
        self.provider = provider
        self.status = response.status
        self.headers = response.headers
        self.body = response.body
        self.json = try? WireJSON.parse(response.body)
        self.retryAfter = retryAfter
        self.providerRequestID = Self.requestIDHeaders.lazy.compactMap { response.headers[$0] }.first
        self.secrets = secrets
    }

    static let requestIDHeaders = ["x-request-id", "request-id", "x-fal-request-id", "x-generation-id", "x-goog-request-id"]

    /// The body as text for messages when the provider sent no JSON (a proxy's HTML page).
    public var text: String {
        String(decoding: body.prefix(500), as: UTF8.self)
    }

    public func error(_ kind: ProviderError.Kind, _ message: String?, code: String? = nil,
                      retryOverride: Bool? = nil) -> ProviderError {
        let fallback = text.isEmpty ? "HTTP \(status)" : text
        return ProviderError(kind, provider: provider, message: message ?? fallback, httpStatus: status,
                             providerCode: code, providerRequestID: providerRequestID,
                             retryOverride: retryOverride, rateLimitHeaders: rateLimitHeaders, scrubbing: secrets)
    }

    /// What the router learns rate limits from: the rate-limit families and the retry headers.
    var rateLimitHeaders: [String: String]? {
        var found = headers.rateLimits
        for name in ["retry-after", "retry-after-ms"] {
            if let value = headers[name] { found[name] = value }
        }
        return found.isEmpty ? nil : found
    }

    /// The classification shared by every provider for statuses it does not single out
    /// (providers.md §0: retry 408, 409, 429, 5xx; never 400, 401, 403, 404, 422).
    public func genericError(message: String?, code: String? = nil) -> ProviderError {
        switch status {
        case 400, 413, 422: error(.badRequest, message, code: code)
        case 401: error(.invalidKey, message, code: code)
        case 402: error(.quotaExhausted, message, code: code)
        case 403: error(.permissionDenied, message, code: code)
        case 404: error(.notFound, message, code: code)
        case 408: error(.timeout, message, code: code)
        case 409: error(.providerDown, message, code: code)
        case 429: error(.rateLimited(retryAfter: retryAfter), message, code: code)
        case 500...: error(.providerDown, message, code: code)
        case 300..<400: error(.malformedResponse, message ?? "unexpected redirect", code: code)
        default: error(.badRequest, message, code: code)
        }
    }
}

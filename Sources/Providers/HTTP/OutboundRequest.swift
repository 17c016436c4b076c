import Foundation

public enum HTTPMethod: String, Sendable {
    case get = "GET"
    case post = "POST"
    case put = "PUT"
    case delete = "DELETE"
}

/// One outbound HTTP call, described as data so the client, the retry loop and the tests can
/// all look at it.
public struct OutboundRequest: Sendable {
    public var method: HTTPMethod
    public var url: String
    public var headers: [RequestHeader]
    public var body: Data?
    /// Where a successful (2xx) body goes. Error bodies always stay in memory so they can be read.
    public var destination: ResponseDestination
    /// Bytes of body accepted before the transfer is aborted with `responseTooLarge`.
    public var maxResponseBytes: Int64?
    public var timeout: Double?
    public var connectTimeout: Double?
    /// Hops to follow; 0 means a 3xx is returned as is. Only Veo downloads need redirects.
    public var maxRedirects: Int
    /// Whether sending the request twice is harmless. A non-idempotent call (a paid submit) is
    /// retried only when it certainly never reached the provider.
    public var isIdempotent: Bool
    /// Billed as soon as the provider receives it, and an error answer does not prove it was not
    /// (speech: the audio may be rendered and charged before a 5xx or a timeout). Such a call is
    /// retried only when it certainly never left: connection refused, DNS, a failed handshake.
    public var isAtMostOnce: Bool
    /// Given a successful (2xx) body piece by piece as it arrives, on the transfer's thread,
    /// instead of collecting it (a streamed answer); returning false aborts the transfer. The
    /// body limit still counts every byte.
    public var bodySink: (@Sendable (UnsafeRawBufferPointer) -> Bool)?
    /// Connect only to public internet addresses (`PublicAddress`), checked on each address the
    /// name resolves to and on every redirect's: for URLs a provider's answer names (its outputs).
    public var publicAddressesOnly = false

    public init(method: HTTPMethod, url: String, headers: [RequestHeader] = [], body: Data? = nil,
                destination: ResponseDestination = .memory, maxResponseBytes: Int64? = nil,
                timeout: Double? = nil, connectTimeout: Double? = nil, maxRedirects: Int = 0,
                isIdempotent: Bool? = nil, atMostOnce: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.destination = destination
        self.maxResponseBytes = maxResponseBytes
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.maxRedirects = maxRedirects
        self.isIdempotent = !atMostOnce && (isIdempotent ?? (method != .post))
        self.isAtMostOnce = atMostOnce
    }
}

public struct RequestHeader: Sendable, Equatable {
    public let name: String
    public let value: String
    /// Credentials: never logged, and dropped when a redirect leaves the original origin
    /// (libcurl only protects `Authorization` that way, not `x-goog-api-key`).
    public let isSensitive: Bool

    public init(_ name: String, _ value: String, sensitive: Bool = false) {
        self.name = name
        self.value = value
        self.isSensitive = sensitive
    }

    public static func secret(_ name: String, _ value: String) -> RequestHeader {
        RequestHeader(name, value, sensitive: true)
    }
}

public enum ResponseDestination: Sendable, Equatable {
    case memory
    /// Streamed to this path as it arrives (created or truncated), so large media never sits in memory.
    case file(String)
}

public struct OutboundResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    /// The body when it went to memory, or an error body; empty when streamed to a file.
    public let body: Data
    public let bodyFile: String?
    public let bodyByteCount: Int64
    /// The URL that answered, after redirects.
    public let url: String
    /// Connections libcurl opened for this call (0 when it reused one).
    public let newConnections: Int

    public init(status: Int, headers: HTTPHeaders, body: Data, bodyFile: String?, bodyByteCount: Int64,
                url: String, newConnections: Int) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyFile = bodyFile
        self.bodyByteCount = bodyByteCount
        self.url = url
        self.newConnections = newConnections
    }

    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// Why a call produced no HTTP response. `mayHaveReachedServer` separates "nothing was sent"
/// (safe to retry anything) from "sent, answer lost" (retry only idempotent calls).
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case timeout
        case connectFailed
        case connectionLost
        case tls
        case responseTooLarge
        case outputFile
        case redirectRefused
        /// A transfer limited to public addresses (`publicAddressesOnly`) led elsewhere.
        case addressRefused
        case invalidURL
        /// The caller's task was cancelled while the call was waiting or in flight.
        case cancelled
        case other
    }

    public let kind: Kind
    public let message: String
    public let mayHaveReachedServer: Bool

    public init(_ kind: Kind, _ message: String, mayHaveReachedServer: Bool) {
        self.kind = kind
        self.message = message
        self.mayHaveReachedServer = mayHaveReachedServer
    }

    public var description: String { "\(kind): \(message)" }
}

import CCurl
import Foundation

/// The libcurl client every adapter shares, with timeouts, a body limit, TLS verification,
/// optional redirect following, and reused connections: `send` suspends the caller while the
/// transfer runs on a `CurlMultiLoop` (no thread held), `perform` blocks the calling thread. Both
/// set up the easy handle through `CurlEasyTransfer`. It does not retry; `ProviderHTTP` decides that.
public final class CurlClient: Sendable {
    public let configuration: HTTPClientConfiguration
    private let pool: CurlHandlePool
    /// Started on the first `send`: a client used only for blocking calls has no loop thread.
    let loop: CurlMultiLoop

    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        self.configuration = configuration
        self.pool = CurlHandlePool(capacity: configuration.maxIdleHandles)
        self.loop = CurlMultiLoop(configuration: configuration)
    }

    /// One call, blocking the calling thread until it ends. For short calls on the deferred
    /// work queues (key checks, health probes); generation steps use `send` (`CurlMultiLoop`),
    /// which holds no thread while the provider works.
    public func perform(_ request: OutboundRequest) -> Result<OutboundResponse, TransportError> {
        var current = request
        var hops = 0
        while true {
            switch Self.afterHop(performOnce(current), original: request, current: current, hops: hops) {
            case let .done(result): return result
            case let .follow(next): current = next
            }
            hops += 1
        }
    }

    /// The same call without holding a thread: the transfer runs on the client's `CurlMultiLoop`
    /// and the caller is suspended until it ends (or its task is cancelled).
    public func send(_ request: OutboundRequest) async -> Result<OutboundResponse, TransportError> {
        var current = request
        var hops = 0
        while true {
            switch Self.afterHop(await loop.perform(current), original: request, current: current, hops: hops) {
            case let .done(result): return result
            case let .follow(next): current = next
            }
            hops += 1
        }
    }

    enum Hop {
        case done(Result<OutboundResponse, TransportError>)
        case follow(OutboundRequest)
    }

    /// Whether a hop's result is the answer or a redirect to follow (`hops` followed so far).
    static func afterHop(_ result: Result<OutboundResponse, TransportError>, original: OutboundRequest,
                         current: OutboundRequest, hops: Int) -> Hop {
        guard case let .success(response) = result, [301, 302, 303, 307, 308].contains(response.status),
              original.maxRedirects > 0 else { return .done(result) }
        guard hops < original.maxRedirects else {
            return .done(.failure(TransportError(.redirectRefused, "more than \(original.maxRedirects) redirects",
                                                 mayHaveReachedServer: true)))
        }
        switch redirect(from: current, response: response) {
        case let .success(next): return .follow(next)
        case let .failure(error): return .done(.failure(error))
        }
    }

    /// The request to send for a 3xx answer. Credentials go only to the origin they were meant
    /// for, and an https → http downgrade is refused.
    static func redirect(from request: OutboundRequest, response: OutboundResponse) -> Result<OutboundRequest, TransportError> {
        guard let location = response.headers["location"],
              let base = URL(string: request.url),
              let target = URL(string: location, relativeTo: base)?.absoluteURL,
              let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            return .failure(TransportError(.redirectRefused, "redirect without a usable http(s) location",
                                           mayHaveReachedServer: true))
        }
        if base.scheme?.lowercased() == "https" && scheme == "http" {
            return .failure(TransportError(.redirectRefused, "refused https to http redirect", mayHaveReachedServer: true))
        }
        var next = request
        next.url = target.absoluteString
        if !sameOrigin(base, target) {
            next.headers = request.headers.filter { !$0.isSensitive }
        }
        if [301, 302, 303].contains(response.status) {
            next.method = .get
            next.body = nil
        }
        return .success(next)
    }

    static func sameOrigin(_ a: URL, _ b: URL) -> Bool {
        func port(_ url: URL) -> Int? { url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80) }
        return a.scheme?.lowercased() == b.scheme?.lowercased()
            && a.host?.lowercased() == b.host?.lowercased()
            && port(a) == port(b)
    }

    private func performOnce(_ request: OutboundRequest) -> Result<OutboundResponse, TransportError> {
        guard let handle = pool.checkout() else {
            return .failure(TransportError(.other, "curl_easy_init failed", mayHaveReachedServer: false))
        }
        defer { pool.checkin(handle) }
        switch CurlEasyTransfer.prepare(request, on: handle, configuration: configuration) {
        case let .failure(error):
            return .failure(error)
        case let .success(transfer):
            return transfer.finish(curl_easy_perform(handle.raw))
        }
    }
}

import CCurl
import Foundation

/// The libcurl client every adapter shares: one blocking call per `perform`, on the caller's
/// thread, with timeouts, a body limit, TLS verification, optional redirect following, and
/// reused connections. It does not retry; `ProviderHTTP` decides that.
public final class CurlClient: Sendable {
    public let configuration: HTTPClientConfiguration
    private let pool: CurlHandlePool

    /// `curl_global_init` must run once before any handle exists; a static `let` initialiser
    /// runs exactly once, thread-safely.
    private static let globalInit: Void = CurlRuntime.initialise()

    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        Self.globalInit
        self.configuration = configuration
        self.pool = CurlHandlePool(capacity: configuration.maxIdleHandles)
    }

    public func perform(_ request: OutboundRequest) -> Result<OutboundResponse, TransportError> {
        var current = request
        var hops = 0
        while true {
            let result = performOnce(current)
            guard case let .success(response) = result,
                  [301, 302, 303, 307, 308].contains(response.status),
                  request.maxRedirects > 0 else { return result }
            guard hops < request.maxRedirects else {
                return .failure(TransportError(.redirectRefused, "more than \(request.maxRedirects) redirects",
                                               mayHaveReachedServer: true))
            }
            switch Self.redirect(from: current, response: response) {
            case let .success(next): current = next
            case let .failure(error): return .failure(error)
            }
            hops += 1
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
        let curl = handle.raw

        let destinationPath: String? = if case let .file(path) = request.destination { path } else { nil }
        let defaultLimit = destinationPath == nil ? configuration.maxResponseBytes : configuration.maxDownloadBytes
        let state = CurlTransferState(destinationPath: destinationPath,
                                      maxBodyBytes: request.maxResponseBytes ?? defaultLimit)
        let stateRef = Unmanaged.passRetained(state)
        defer { stateRef.release() }

        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for header in request.headers {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        // curl adds `Expect: 100-continue` to larger POSTs and then waits for a 100 that many
        // servers never send; an empty value suppresses it.
        headerList = curl_slist_append(headerList, "Expect:")

        let timeout = request.timeout ?? (destinationPath == nil ? configuration.requestTimeout : configuration.downloadTimeout)
        let connectTimeout = request.connectTimeout ?? configuration.connectTimeout

        var code: CURLcode = request.url.withCString { ccurl_setopt_pointer(curl, CURLOPT_URL, $0) }
        guard code == CURLE_OK else {
            return .failure(TransportError(.invalidURL, "invalid URL", mayHaveReachedServer: false))
        }
        _ = "http,https".withCString { ccurl_setopt_pointer(curl, CURLOPT_PROTOCOLS_STR, $0) }
        // Signals cannot be used for timeouts in a multi-threaded process.
        _ = ccurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 1)
        _ = ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 2)
        // Redirects are followed by `perform`, hop by hop, so credentials can be dropped.
        _ = ccurl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 0)
        _ = ccurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout * 1000))
        _ = ccurl_setopt_long(curl, CURLOPT_TIMEOUT_MS, Int(timeout * 1000))
        _ = ccurl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1)
        _ = ccurl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, max(1, Int(configuration.stallTimeout.rounded(.up))))
        _ = ccurl_setopt_offset(curl, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(state.maxBodyBytes))
        _ = "".withCString { ccurl_setopt_pointer(curl, CURLOPT_ACCEPT_ENCODING, $0) }
        _ = configuration.userAgent.withCString { ccurl_setopt_pointer(curl, CURLOPT_USERAGENT, $0) }
        _ = ccurl_setopt_pointer(curl, CURLOPT_HTTPHEADER, headerList)
        _ = ccurl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = ccurl_setopt_data_callback(curl, CURLOPT_WRITEFUNCTION, curlWriteCallback)
        _ = ccurl_setopt_pointer(curl, CURLOPT_WRITEDATA, stateRef.toOpaque())
        _ = ccurl_setopt_data_callback(curl, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        _ = ccurl_setopt_pointer(curl, CURLOPT_HEADERDATA, stateRef.toOpaque())

        let body = request.body ?? (request.method == .get ? nil : Data())
        code = withBody(body) { pointer, count in
            switch request.method {
            case .get:
                _ = ccurl_setopt_long(curl, CURLOPT_HTTPGET, 1)
            case .post, .put, .delete:
                _ = ccurl_setopt_long(curl, CURLOPT_POST, 1)
                _ = ccurl_setopt_offset(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(count))
                _ = ccurl_setopt_pointer(curl, CURLOPT_POSTFIELDS, pointer)
                if request.method != .post {
                    _ = request.method.rawValue.withCString { ccurl_setopt_pointer(curl, CURLOPT_CUSTOMREQUEST, $0) }
                }
            }
            return curl_easy_perform(curl)
        }
        state.finishFile()

        var requestSize = 0
        _ = ccurl_getinfo_long(curl, CURLINFO_REQUEST_SIZE, &requestSize)
        let reached = requestSize > 0
        guard code == CURLE_OK else {
            if state.wroteToFile, let destinationPath { unlink(destinationPath) }
            return .failure(Self.transportError(code, state: state, reached: reached,
                                                detail: String(cString: errorBuffer)))
        }
        var status = 0
        _ = ccurl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        var connects = 0
        _ = ccurl_getinfo_long(curl, CURLINFO_NUM_CONNECTS, &connects)
        let toFile = state.wroteToFile && (200..<300).contains(status)
        return .success(OutboundResponse(status: status, headers: state.headers, body: state.body,
                                     bodyFile: toFile ? destinationPath : nil, bodyByteCount: state.bodyBytes,
                                     url: request.url, newConnections: connects))
    }

    /// Keeps the body's bytes alive and in place for the whole transfer (POSTFIELDS does not copy).
    private func withBody(_ body: Data?, _ perform: (UnsafeRawPointer?, Int) -> CURLcode) -> CURLcode {
        guard let body else { return perform(nil, 0) }
        if body.isEmpty {
            return "".withCString { perform(UnsafeRawPointer($0), 0) }
        }
        return body.withUnsafeBytes { perform($0.baseAddress, $0.count) }
    }

    private static func transportError(_ code: CURLcode, state: CurlTransferState, reached: Bool,
                                       detail: String) -> TransportError {
        let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        if state.abortedTooLarge || code == CURLE_FILESIZE_EXCEEDED {
            return TransportError(.responseTooLarge, "response body over \(state.maxBodyBytes) bytes", mayHaveReachedServer: true)
        }
        if let fileError = state.fileError {
            return TransportError(.outputFile, fileError, mayHaveReachedServer: true)
        }
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return TransportError(.timeout, text, mayHaveReachedServer: reached)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return TransportError(.connectFailed, text, mayHaveReachedServer: false)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE:
            return TransportError(.tls, text, mayHaveReachedServer: false)
        case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM:
            return TransportError(.connectionLost, text, mayHaveReachedServer: reached)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return TransportError(.invalidURL, text, mayHaveReachedServer: false)
        default:
            return TransportError(.other, text, mayHaveReachedServer: reached)
        }
    }
}

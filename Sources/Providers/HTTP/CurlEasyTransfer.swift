import CCurl
import Foundation

/// One transfer on one easy handle, set up the same way whether it then runs blocking
/// (`curl_easy_perform` in `CurlClient`) or inside a multi handle (`CurlMultiLoop`): options,
/// headers, body, callbacks, limits, and the mapping of libcurl's result to a response or a
/// `TransportError`. Everything libcurl points into (header list, error buffer, body copy,
/// transfer state) is owned here and lives until `deinit`, after the transfer has ended, so the
/// transfer may finish on another thread than the one that set it up.
final class CurlEasyTransfer {
    let handle: CurlHandle
    let request: OutboundRequest
    let state: CurlTransferState
    private let destinationPath: String?
    private let stateRef: Unmanaged<CurlTransferState>
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// POSTFIELDS does not copy: the bytes are kept here, in place, for the whole transfer.
    private var body: UnsafeMutableRawBufferPointer?

    /// Sets every option on `handle`; a failure (an unusable URL) is returned, not thrown, and
    /// the caller still owns the handle.
    static func prepare(_ request: OutboundRequest, on handle: CurlHandle,
                        configuration: HTTPClientConfiguration) -> Result<CurlEasyTransfer, TransportError> {
        let transfer = CurlEasyTransfer(request, handle: handle, configuration: configuration)
        guard transfer.configure(configuration) else {
            return .failure(TransportError(.invalidURL, "invalid URL", mayHaveReachedServer: false))
        }
        return .success(transfer)
    }

    private init(_ request: OutboundRequest, handle: CurlHandle, configuration: HTTPClientConfiguration) {
        self.handle = handle
        self.request = request
        let destinationPath: String? = if case let .file(path) = request.destination { path } else { nil }
        self.destinationPath = destinationPath
        let defaultLimit = destinationPath == nil ? configuration.maxResponseBytes : configuration.maxDownloadBytes
        state = CurlTransferState(destinationPath: destinationPath, maxBodyBytes: request.maxResponseBytes ?? defaultLimit,
                                  sink: request.bodySink)
        stateRef = Unmanaged.passRetained(state)
        errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
        body?.deallocate()
        stateRef.release()
    }

    private func configure(_ configuration: HTTPClientConfiguration) -> Bool {
        let curl = handle.raw
        for header in request.headers {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        // curl adds `Expect: 100-continue` to larger POSTs and then waits for a 100 that many
        // servers never send; an empty value suppresses it.
        headerList = curl_slist_append(headerList, "Expect:")

        let timeout = request.timeout ?? (request.bodySink != nil ? configuration.streamTimeout
                                          : destinationPath == nil ? configuration.requestTimeout : configuration.downloadTimeout)
        let connectTimeout = request.connectTimeout ?? configuration.connectTimeout

        guard request.url.withCString({ ccurl_setopt_pointer(curl, CURLOPT_URL, $0) }) == CURLE_OK else { return false }
        _ = "http,https".withCString { ccurl_setopt_pointer(curl, CURLOPT_PROTOCOLS_STR, $0) }
        // Signals cannot be used for timeouts in a multi-threaded process.
        _ = ccurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 1)
        _ = ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 2)
        // Redirects are followed hop by hop by the caller (`RedirectHop`), so credentials can be dropped.
        _ = ccurl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 0)
        _ = ccurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout * 1000))
        _ = ccurl_setopt_long(curl, CURLOPT_TIMEOUT_MS, Int(timeout * 1000))
        // A stalled download or stream is abandoned; a call whose whole answer is one JSON body may
        // be silent until it is ready (a long reasoning answer), within its total timeout only.
        if destinationPath != nil || request.bodySink != nil {
            _ = ccurl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1)
            _ = ccurl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, max(1, Int(configuration.stallTimeout.rounded(.up))))
        }
        _ = ccurl_setopt_offset(curl, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(state.maxBodyBytes))
        _ = "".withCString { ccurl_setopt_pointer(curl, CURLOPT_ACCEPT_ENCODING, $0) }
        _ = configuration.userAgent.withCString { ccurl_setopt_pointer(curl, CURLOPT_USERAGENT, $0) }
        _ = ccurl_setopt_pointer(curl, CURLOPT_HTTPHEADER, headerList)
        _ = ccurl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = ccurl_setopt_data_callback(curl, CURLOPT_WRITEFUNCTION, curlWriteCallback)
        _ = ccurl_setopt_pointer(curl, CURLOPT_WRITEDATA, stateRef.toOpaque())
        _ = ccurl_setopt_data_callback(curl, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        _ = ccurl_setopt_pointer(curl, CURLOPT_HEADERDATA, stateRef.toOpaque())
        if request.publicAddressesOnly {
            _ = ccurl_setopt_opensocket_callback(curl, PublicAddress.openSocket)
            _ = ccurl_setopt_pointer(curl, CURLOPT_OPENSOCKETDATA, stateRef.toOpaque())
            // A pooled connection to the same host and port (a gateway beside the server) would
            // skip the socket opener, and with it the check.
            _ = ccurl_setopt_long(curl, CURLOPT_FRESH_CONNECT, 1)
        }

        switch request.method {
        case .get:
            _ = ccurl_setopt_long(curl, CURLOPT_HTTPGET, 1)
        case .post, .put, .delete:
            let bytes = request.body ?? Data()
            // Never a null pointer, even for an empty body: libcurl would then read the body
            // through a read callback instead.
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
            bytes.copyBytes(to: copy)
            body = copy
            _ = ccurl_setopt_long(curl, CURLOPT_POST, 1)
            _ = ccurl_setopt_offset(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
            _ = ccurl_setopt_pointer(curl, CURLOPT_POSTFIELDS, copy.baseAddress)
            if request.method != .post {
                _ = request.method.rawValue.withCString { ccurl_setopt_pointer(curl, CURLOPT_CUSTOMREQUEST, $0) }
            }
        }
        return true
    }

    /// The response, or why there is none, once libcurl reports the transfer done with `code`.
    func finish(_ code: CURLcode) -> Result<OutboundResponse, TransportError> {
        let curl = handle.raw
        state.finishFile()
        var requestSize = 0
        _ = ccurl_getinfo_long(curl, CURLINFO_REQUEST_SIZE, &requestSize)
        let reached = requestSize > 0
        guard code == CURLE_OK else {
            if state.wroteToFile, let destinationPath { unlink(destinationPath) }
            return .failure(Self.transportError(code, state: state, reached: reached, detail: String(cString: errorBuffer)))
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

    /// Ends a transfer that was abandoned before libcurl finished it (the caller went away): a
    /// partly written output file is removed.
    func abandon() {
        state.closeFile()
        if state.wroteToFile, let destinationPath { unlink(destinationPath) }
    }

    static func transportError(_ code: CURLcode, state: CurlTransferState, reached: Bool, detail: String) -> TransportError {
        let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        if state.abortedTooLarge || code == CURLE_FILESIZE_EXCEEDED {
            return TransportError(.responseTooLarge, "response body over \(state.maxBodyBytes) bytes", mayHaveReachedServer: true)
        }
        if state.sinkRefused {
            return TransportError(.other, "the streamed answer was refused by its reader", mayHaveReachedServer: true)
        }
        if let fileError = state.fileError {
            return TransportError(.outputFile, fileError, mayHaveReachedServer: true)
        }
        if state.refusedAddress {
            return TransportError(.addressRefused, "refused to connect: the URL's host is not a public address", mayHaveReachedServer: false)
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

import CCurl
import Foundation
import Synchronization

/// A request body: none, bytes in memory, or a region of a file read as curl sends it (so a
/// file upload never sits in memory).
enum S3Body: Sendable {
    case none
    case data(Data)
    case file(path: String, offset: Int64, length: Int64)

    var length: Int64 {
        switch self {
        case .none: return 0
        case let .data(data): return Int64(data.count)
        case let .file(_, _, length): return length
        }
    }
}

struct S3HTTPRequest: Sendable {
    var method: String
    var url: String
    var headers: [(name: String, value: String)]
    var body: S3Body
    /// Bytes of response body kept; a longer answer aborts the transfer.
    var maxResponseBytes: Int
}

struct S3HTTPResponse: Sendable {
    let status: Int
    /// Names lowercased.
    let headers: [(name: String, value: String)]
    let body: Data

    func header(_ name: String) -> String? {
        headers.last { $0.name == name }?.value
    }
}

/// The store's libcurl client: one blocking transfer per call, on the caller's thread, with
/// easy handles (and their keep-alive connections) kept for reuse. Persistence does not depend
/// on the Providers module, whose `CurlClient` holds bodies in memory; this one streams file
/// bodies through a read callback.
final class S3Transport: Sendable {
    private let idle = Mutex<[S3CurlHandle]>([])
    private let connectTimeoutSeconds: Int
    private let requestTimeoutSeconds: Int
    /// `curl_global_init` runs once before the first handle (a static `let` runs exactly once).
    private static let globalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    init(connectTimeoutSeconds: Int, requestTimeoutSeconds: Int) {
        Self.globalInit
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    deinit {
        idle.withLock { handles in
            for handle in handles { curl_easy_cleanup(handle.raw) }
            handles.removeAll()
        }
    }

    /// The answer, whatever its status; a failure to get one throws `S3TransportFailure`.
    func perform(_ request: S3HTTPRequest) throws(S3TransportFailure) -> S3HTTPResponse {
        guard let handle = idle.withLock({ $0.popLast() }) ?? curl_easy_init().map(S3CurlHandle.init) else {
            throw S3TransportFailure(detail: "curl_easy_init failed")
        }
        defer { checkin(handle) }
        let transfer = S3Transfer(body: request.body, maxResponseBytes: request.maxResponseBytes)
        try transfer.open()
        defer { transfer.close() }
        let reference = Unmanaged.passRetained(transfer)
        defer { reference.release() }
        let curl = handle.raw

        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for header in request.headers { headerList = curl_slist_append(headerList, "\(header.name): \(header.value)") }
        // No `Expect: 100-continue` round trip, and no form content type curl would add to a POST.
        headerList = curl_slist_append(headerList, "Expect:")
        if !request.headers.contains(where: { $0.name.lowercased() == "content-type" }) {
            headerList = curl_slist_append(headerList, "Content-Type:")
        }

        guard request.url.withCString({ ccurl_setopt_pointer(curl, CURLOPT_URL, $0) }) == CURLE_OK else {
            throw S3TransportFailure(detail: "invalid URL")
        }
        _ = "http,https".withCString { ccurl_setopt_pointer(curl, CURLOPT_PROTOCOLS_STR, $0) }
        _ = ccurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 1)
        _ = ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 2)
        _ = ccurl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 0)
        _ = ccurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds)
        _ = ccurl_setopt_long(curl, CURLOPT_TIMEOUT, requestTimeoutSeconds)
        // A connection that moves under a byte a second for 30 s is dead even within the time limit.
        _ = ccurl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1)
        _ = ccurl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, 30)
        _ = ccurl_setopt_pointer(curl, CURLOPT_HTTPHEADER, headerList)
        _ = ccurl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = ccurl_setopt_data_callback(curl, CURLOPT_WRITEFUNCTION, s3WriteCallback)
        _ = ccurl_setopt_pointer(curl, CURLOPT_WRITEDATA, reference.toOpaque())
        _ = ccurl_setopt_data_callback(curl, CURLOPT_HEADERFUNCTION, s3HeaderCallback)
        _ = ccurl_setopt_pointer(curl, CURLOPT_HEADERDATA, reference.toOpaque())
        _ = ccurl_setopt_data_callback(curl, CURLOPT_READFUNCTION, s3ReadCallback)
        _ = ccurl_setopt_pointer(curl, CURLOPT_READDATA, reference.toOpaque())

        switch request.method {
        case "HEAD":
            _ = ccurl_setopt_long(curl, CURLOPT_NOBODY, 1)
        case "PUT":
            _ = ccurl_setopt_long(curl, CURLOPT_UPLOAD, 1)
            _ = ccurl_setopt_offset(curl, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body.length))
        case "POST":
            _ = ccurl_setopt_long(curl, CURLOPT_POST, 1)
            _ = ccurl_setopt_offset(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.length))
        case "GET":
            _ = ccurl_setopt_long(curl, CURLOPT_HTTPGET, 1)
        default:
            _ = request.method.withCString { ccurl_setopt_pointer(curl, CURLOPT_CUSTOMREQUEST, $0) }
        }

        let code = curl_easy_perform(curl)
        guard code == CURLE_OK else {
            if transfer.tooLarge { throw S3TransportFailure(detail: "answer over \(request.maxResponseBytes) bytes") }
            if let readError = transfer.readError { throw S3TransportFailure(detail: readError) }
            let detail = String(cString: errorBuffer)
            throw S3TransportFailure(detail: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        var status = 0
        _ = ccurl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        return S3HTTPResponse(status: status, headers: transfer.headers, body: transfer.response)
    }

    /// Options are reset (the connection cache stays) so the next transfer starts clean.
    private func checkin(_ handle: S3CurlHandle) {
        curl_easy_reset(handle.raw)
        let kept = idle.withLock { handles -> Bool in
            guard handles.count < 16 else { return false }
            handles.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(handle.raw) }
    }
}

struct S3TransportFailure: Error, Sendable {
    let detail: String
}

/// An easy handle that may move between threads (never used by two at once).
struct S3CurlHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}

/// One transfer's state, reached by libcurl's callbacks through the userdata pointer on the
/// thread running `curl_easy_perform`, so it needs no lock.
final class S3Transfer {
    let body: S3Body
    let maxResponseBytes: Int
    var headers: [(name: String, value: String)] = []
    var response = Data()
    var tooLarge = false
    var readError: String?
    private var sent: Int64 = 0
    private var descriptor: Int32 = -1

    init(body: S3Body, maxResponseBytes: Int) {
        self.body = body
        self.maxResponseBytes = maxResponseBytes
    }

    func open() throws(S3TransportFailure) {
        guard case let .file(path, _, _) = body else { return }
        descriptor = Foundation.open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 { throw S3TransportFailure(detail: "cannot open \(path): \(String(cString: strerror(errno)))") }
    }

    func close() {
        if descriptor >= 0 { Foundation.close(descriptor) }
        descriptor = -1
    }

    /// Fills `buffer` with the next body bytes; 0 at the end; nil to abort.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let remaining = body.length - sent
        let count = Int(min(Int64(buffer.count), max(0, remaining)))
        guard count > 0, let base = buffer.baseAddress else { return 0 }
        switch body {
        case .none:
            return 0
        case let .data(data):
            let start = data.startIndex + Int(sent)
            data.copyBytes(to: base.assumingMemoryBound(to: UInt8.self), from: start..<(start + count))
        case let .file(_, offset, _):
            let got = pread(descriptor, base, count, off_t(offset + sent))
            guard got > 0 else {
                readError = got == 0 ? "the file became shorter during the upload" : "cannot read the file: \(String(cString: strerror(errno)))"
                return nil
            }
            sent += Int64(got)
            return got
        }
        sent += Int64(count)
        return count
    }

    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard response.count + bytes.count <= maxResponseBytes else {
            tooLarge = true
            return false
        }
        response.append(contentsOf: bytes)
        return true
    }

    /// A new status line (a `100 Continue` or a redirect starts a new block) clears the headers.
    func receiveHeader(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            headers = []
            return
        }
        guard let colon = trimmed.firstIndex(of: ":"), headers.count < 200 else { return }
        headers.append((name: trimmed[..<colon].trimmingCharacters(in: .whitespaces).lowercased(),
                        value: String(trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces).prefix(4096))))
    }
}

// libcurl's callbacks: global functions (nonisolated, capturing nothing); the transfer arrives
// through the userdata pointer.

private func s3WriteCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                             _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let userdata else { return 0 }
    let transfer = Unmanaged<S3Transfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return length }
    return transfer.receive(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private func s3HeaderCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                              _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let userdata else { return 0 }
    let transfer = Unmanaged<S3Transfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return length }
    transfer.receiveHeader(String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self))
    return length
}

private func s3ReadCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                            _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let userdata, let data else { return Int(CURL_READFUNC_ABORT) }
    let transfer = Unmanaged<S3Transfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.read(into: UnsafeMutableRawBufferPointer(start: data, count: size * count)) ?? Int(CURL_READFUNC_ABORT)
}

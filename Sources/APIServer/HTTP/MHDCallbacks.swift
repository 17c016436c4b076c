import CMicroHTTPD
import Foundation
import Synchronization

// libmicrohttpd's C entry points. They live here, as global functions outside main.swift, because
// a closure written in main.swift is main-actor isolated and traps when a C thread calls it.
// Per-request state travels in MHD's `con_cls` slot; this file owns all of that pointer handling.

/// What one request accumulates between MHD's calls. MHD calls a connection's handler from one
/// thread at a time, which is what makes the unchecked mutation safe; the one field a work queue
/// thread touches, `deferral`, has a lock of its own.
final class RequestState: @unchecked Sendable {
    let method: String
    let path: String
    let startedAt: UInt64
    var headers: [String: String] = [:]
    var query: [String: String] = [:]
    var body = Data()
    var bodyTooLarge = false
    /// A query name or value held a NUL or invalid UTF-8: refused as a whole, never read truncated or altered.
    var malformedQuery = false
    /// Set when the request's headers arrived after `stop` began: it is answered 503, not served.
    let arrivedWhileStopping: Bool
    var socketAddress = ""
    /// An upload route's open request: its body goes to the receiver, not to `body`.
    var upload: OpenUpload?
    /// Why the upload was refused mid-body (the rest is read and dropped, then this is the answer).
    var uploadFailure: (any Error)?

    /// Where a deferred response stands. The lock makes "resume" happen exactly once, whether the
    /// work finishes first or a stopping server gives up on it first.
    enum Deferral {
        case none
        case suspended
        case answered(HTTPResponse)
        /// The server stopped waiting; the connection is closed without an answer.
        case abandoned
    }

    let deferral = Mutex(Deferral.none)
    /// Held while the connection is resumed (see `resume(with:)`).
    private let resuming = NSLock()
    private let connection: OpaquePointer
    /// Strong: a request can outlive the daemon's own reference to its server (a deferred answer
    /// arriving as the server stops), and an `unowned` read of a freed server traps the process
    /// (one full test run crashed on such a read on an MHD thread). A stop clears the suspended
    /// requests, so this never holds a server in a cycle.
    private let server: HTTPServer

    init(method: String, path: String, connection: OpaquePointer, server: HTTPServer) {
        self.method = method
        self.path = path
        self.startedAt = DispatchTime.now().uptimeNanoseconds
        self.connection = connection
        self.server = server
        self.arrivedWhileStopping = server.shuttingDown.load(ordering: .acquiring)
    }
}

/// A deferred route's answer: the connection is suspended on MHD's thread, and resumed from the
/// work queue's thread once the response is stored; MHD then calls the handler again, which
/// queues it (`mhdAccessHandler`).
extension RequestState: ResponseSuspension {
    func suspend() {
        deferral.withLock { $0 = .suspended }
        server.trackSuspended(self)
        MHD_suspend_connection(connection)
    }

    // The connection is resumed outside `deferral`'s lock: called under it, the resume woke MHD's
    // thread straight into that lock (on the answer's path). `resuming` still makes a resume and an
    // abandon exclusive, so a stopping server never passes a connection whose resume is under way.
    func resume(with response: HTTPResponse) {
        resuming.lock()
        let resumed = deferral.withLock { deferral -> Bool in
            guard case .suspended = deferral else { return false }
            deferral = .answered(response)
            return true
        }
        if resumed { MHD_resume_connection(connection) }
        resuming.unlock()
        if resumed { server.untrackSuspended(self) }
    }

    /// For a stopping server whose grace period ran out: MHD cannot stop with connections
    /// suspended, and the work may still finish later, when the connection no longer exists.
    func abandon() {
        resuming.lock()
        defer { resuming.unlock() }
        let abandoned = deferral.withLock { deferral -> Bool in
            guard case .suspended = deferral else { return false }
            deferral = .abandoned
            return true
        }
        if abandoned { MHD_resume_connection(connection) }
    }
}

func mhdAccessHandler(
    _ context: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ url: UnsafePointer<CChar>?,
    _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?, _ uploadData: UnsafePointer<CChar>?,
    _ uploadSize: UnsafeMutablePointer<Int>?, _ requestSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let context, let connection, let requestSlot, let uploadSize else { return .NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue()

    guard let existing = requestSlot.pointee else {
        // First call: headers only. Answering now would make MHD close the connection, so
        // only a deliberate early reject (a declared body over the limit) answers here.
        let state = RequestState(method: method.map { String(cString: $0) } ?? "GET", path: url.map { String(cString: $0) } ?? "/",
                                 connection: connection, server: server)
        _ = MHD_get_connection_values(connection, MHD_ValueKind.HEADER_KIND, mhdCollectValue, Unmanaged.passUnretained(state).toOpaque())
        _ = MHD_get_connection_values_n(connection, MHD_ValueKind.GET_ARGUMENT_KIND, mhdCollectQuery, Unmanaged.passUnretained(state).toOpaque())
        state.socketAddress = peerAddress(connection)
        requestSlot.pointee = Unmanaged.passRetained(state).toOpaque()
        server.application.metrics.inFlight.add(1, ordering: .relaxed)
        // Only POST routes take uploads; every other request skips the extra route lookup.
        let opening = state.method != "POST" || state.malformedQuery ? .notUpload : server.application.openUpload(
            HTTPRequest(method: state.method, path: state.path, query: state.query, headers: state.headers, body: Data(),
                        requestID: RequestID.accept(state.headers["x-request-id"]), socketAddress: state.socketAddress),
            startedAt: state.startedAt)
        switch opening {
        case .notUpload:
            break
        case .accepted(let upload):
            state.upload = upload
            return .YES
        case .refused(let response):
            return queue(response, server, connection, closeAfter: true)
        }
        if let declared = state.headers["content-length"].flatMap(Int.init), declared > server.limits.maximumBodyBytes {
            state.bodyTooLarge = true
            return respond(server, connection, state, closeAfter: true)
        }
        return .YES
    }

    let state = Unmanaged<RequestState>.fromOpaque(existing).takeUnretainedValue()
    if uploadSize.pointee > 0 {
        // Body chunk. Past the limit the rest is read and dropped, so the client still gets a
        // clean 413 instead of a reset (queuing a response mid-upload fails in MHD 0.9.75).
        let size = uploadSize.pointee
        if let upload = state.upload {
            if state.uploadFailure == nil, let uploadData {
                do {
                    try upload.receiver.receive(UnsafeRawBufferPointer(start: uploadData, count: size))
                } catch {
                    state.uploadFailure = error
                    upload.receiver.discard()
                }
            }
            uploadSize.pointee = 0
            return .YES
        }
        if !state.bodyTooLarge {
            if state.body.count + size > server.limits.maximumBodyBytes {
                state.bodyTooLarge = true
                state.body = Data()
            } else if let uploadData {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: size) { state.body.append($0, count: size) }
            }
        }
        uploadSize.pointee = 0
        return .YES
    }
    switch state.deferral.withLock({ $0 }) {
    case .none:
        if let upload = state.upload {
            guard let response = server.application.finishUpload(upload, failure: state.uploadFailure, startedAt: state.startedAt,
                                                                 suspension: state)
            else { return .YES }
            return queue(response, server, connection, closeAfter: state.uploadFailure != nil)
        }
        return respond(server, connection, state, closeAfter: state.bodyTooLarge)
    case .answered(let response):
        // Called again after `resume`: the deferred response is ready.
        return queue(response, server, connection, closeAfter: false)
    case .suspended:
        return .YES
    case .abandoned:
        return .NO
    }
}

private func respond(_ server: HTTPServer, _ connection: OpaquePointer, _ state: RequestState, closeAfter: Bool) -> MHD_Result {
    let request = HTTPRequest(method: state.method, path: state.path, query: state.query, headers: state.headers,
                              body: state.body, requestID: RequestID.accept(state.headers["x-request-id"]),
                              socketAddress: state.socketAddress)
    guard let response = server.application.respond(to: request, rejection: state.rejection,
                                                    startedAt: state.startedAt, suspension: state)
    else { return .YES }
    return queue(response, server, connection, closeAfter: closeAfter)
}

private func queue(_ response: HTTPResponse, _ server: HTTPServer, _ connection: OpaquePointer, closeAfter: Bool) -> MHD_Result {
    var response = response
    if closeAfter || server.shuttingDown.load(ordering: .relaxed) {
        response.headers.append(("Connection", "close"))
    }
    if let stream = response.stream {
        return queueStream(stream, response, server, connection)
    }
    if let blob = response.blob {
        return queueBlob(blob, response, connection)
    }
    let mhdResponse = response.body.withUnsafeBytes { bytes in
        MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
    }
    guard let mhdResponse else { return .NO }
    defer { MHD_destroy_response(mhdResponse) }
    for (name, value) in response.headers {
        // Explicit C strings: passing a short Swift string straight to C copies it to the heap.
        _ = name.withCString { name in value.withCString { value in MHD_add_response_header(mhdResponse, name, value) } }
    }
    return MHD_queue_response(connection, UInt32(response.status), mhdResponse)
}

func mhdRequestCompleted(
    _ context: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
    _ requestSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ reason: MHD_RequestTerminationCode
) {
    guard let requestSlot, let state = requestSlot.pointee else { return }
    // An upload the client abandoned (or that was refused) leaves nothing behind; after `finish` this does nothing.
    Unmanaged<RequestState>.fromOpaque(state).takeUnretainedValue().upload?.receiver.discard()
    Unmanaged<RequestState>.fromOpaque(state).release()
    requestSlot.pointee = nil
    if let context {
        Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue().application.metrics.inFlight.subtract(1, ordering: .releasing)
    }
}

private func mhdCollectValue(
    _ context: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let context, let key else { return .YES }
    let state = Unmanaged<RequestState>.fromOpaque(context).takeUnretainedValue()
    let name = lowercasedASCII(key)
    let text = value.map { String(cString: $0) } ?? ""
    // Repeated headers are combined as RFC 9110 allows for list-valued fields.
    if let earlier = state.headers[name] {
        state.headers[name] = earlier + ", " + text
    } else {
        state.headers[name] = text
    }
    return .YES
}

/// Query parameters with their byte lengths: libmicrohttpd decodes `%00` into the value, so a C-string
/// read would silently cut it there, and `String(cString:)` would replace invalid UTF-8. Either
/// makes the request malformed instead.
private func mhdCollectQuery(
    _ context: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind, _ key: UnsafePointer<CChar>?, _ keySize: Int,
    _ value: UnsafePointer<CChar>?, _ valueSize: Int
) -> MHD_Result {
    guard let context, let key else { return .YES }
    let state = Unmanaged<RequestState>.fromOpaque(context).takeUnretainedValue()
    guard let name = exactText(key, keySize), let text = value.map({ exactText($0, valueSize) }) ?? "" else {
        state.malformedQuery = true
        return .NO
    }
    if state.query[name] == nil {
        state.query[name] = text
    }
    return .YES
}

/// The `size` bytes at `pointer` as text, or nil when they hold a NUL or are not valid UTF-8.
private func exactText(_ pointer: UnsafePointer<CChar>, _ size: Int) -> String? {
    guard size >= 0 else { return nil }
    let bytes = UnsafeRawBufferPointer(start: pointer, count: size)
    guard !bytes.contains(0) else { return nil }
    return String(validating: bytes, as: UTF8.self)
}

extension RequestState {
    /// Why the transport answers for the application, if it must.
    var rejection: Application.Rejection? {
        if bodyTooLarge { return .bodyTooLarge }
        if malformedQuery { return .malformedQuery }
        if arrivedWhileStopping { return .shuttingDown }
        return nil
    }
}

/// MHD's own diagnostics (mostly clients going away) become debug lines in our log format.
func mhdLogger(_ context: UnsafeMutableRawPointer?, _ format: UnsafePointer<CChar>?, _ arguments: CVaListPointer?) {
    guard let context, let format, let arguments else { return }
    let server = Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue()
    guard server.application.logger.minimumLevel <= .debug else { return }
    var buffer = [CChar](repeating: 0, count: 512)
    _ = vsnprintf(&buffer, buffer.count, format, arguments)
    let length = buffer.firstIndex(of: 0) ?? buffer.count
    let message = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    server.application.logger.debug("libmicrohttpd", ["detail": .string(message)])
}

/// The client's address in text form (IPv4 or IPv6), for per-IP rate limits. IPv4, nearly every
/// request, is written by hand: glibc's `inet_ntop` formats it with `sprintf`.
private func peerAddress(_ connection: OpaquePointer) -> String {
    guard let address = cmhd_client_address(connection) else { return "" }
    switch Int32(address.pointee.sa_family) {
    case AF_INET:
        return formatIPv4(address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) })
    case AF_INET6:
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { text in
            let written = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { ipv6 in
                withUnsafePointer(to: ipv6.pointee.sin6_addr) { inet_ntop(AF_INET6, $0, text.baseAddress, socklen_t(text.count)) }
            }
            return written.map { String(cString: $0) } ?? ""
        }
    default:
        return ""
    }
}

/// Dotted-quad text of an IPv4 address given in host byte order.
func formatIPv4(_ address: UInt32) -> String {
    String(unsafeUninitializedCapacity: 15) { text in
        var index = 0
        for shift in stride(from: 24, through: 0, by: -8) {
            let octet = Int((address >> UInt32(shift)) & 0xFF)
            if octet >= 100 { text[index] = UInt8(48 + octet / 100); index += 1 }
            if octet >= 10 { text[index] = UInt8(48 + octet / 10 % 10); index += 1 }
            text[index] = UInt8(48 + octet % 10); index += 1
            if shift > 0 { text[index] = UInt8(ascii: "."); index += 1 }
        }
        return index
    }
}

/// A header name lowercased while it is copied (names are ASCII tokens, RFC 9110 §5.1).
private func lowercasedASCII(_ text: UnsafePointer<CChar>) -> String {
    let length = strlen(text)
    return String(unsafeUninitializedCapacity: length) { buffer in
        for index in 0..<length {
            let byte = UInt8(bitPattern: text[index])
            buffer[index] = (65...90).contains(byte) ? byte | 0x20 : byte
        }
        return length
    }
}

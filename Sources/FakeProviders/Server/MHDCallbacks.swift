import CMicroHTTPD
import Foundation

// libmicrohttpd's C entry points, as global functions outside main.swift (a closure there would
// be main-actor isolated and trap on MHD's threads). Per-request state lives in MHD's `con_cls`.

/// One request between MHD's calls; MHD calls a connection's handler from one thread at a time.
final class PendingRequest: @unchecked Sendable {
    let method: String
    let path: String
    var headers: [String: String] = [:]
    var query: [String: String] = [:]
    var body = Data()
    var bodyTooLarge = false
    /// Computed on the last call; held while the connection is suspended for a delay.
    var response: FakeResponse?

    init(method: String, path: String) {
        self.method = method
        self.path = path
    }
}

/// The bytes of a cut-off answer and how many to send before failing the transfer.
final class CutOffBody: @unchecked Sendable {
    let bytes: Data
    let sendBeforeFailing: Int
    init(bytes: Data, sendBeforeFailing: Int) {
        self.bytes = bytes
        self.sendBeforeFailing = sendBeforeFailing
    }
}

func fakeAccessHandler(
    _ context: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ url: UnsafePointer<CChar>?,
    _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?, _ uploadData: UnsafePointer<CChar>?,
    _ uploadSize: UnsafeMutablePointer<Int>?, _ requestSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let context, let connection, let requestSlot, let uploadSize else { return .NO }
    let daemon = Unmanaged<FakeDaemon>.fromOpaque(context).takeUnretainedValue()
    let limit = daemon.router.settings.maximumBodyBytes

    guard let existing = requestSlot.pointee else {
        let state = PendingRequest(method: method.map { String(cString: $0) } ?? "GET",
                                   path: url.map { String(cString: $0) } ?? "/")
        let opaque = Unmanaged.passUnretained(state).toOpaque()
        _ = MHD_get_connection_values(connection, MHD_ValueKind.HEADER_KIND, fakeCollectHeader, opaque)
        _ = MHD_get_connection_values(connection, MHD_ValueKind.GET_ARGUMENT_KIND, fakeCollectQuery, opaque)
        requestSlot.pointee = Unmanaged.passRetained(state).toOpaque()
        if let declared = state.headers["content-length"].flatMap(Int.init), declared > limit {
            // Answered before the body is read; MHD closes the connection afterwards.
            state.bodyTooLarge = true
            let response = answer(state, daemon: daemon)
            state.response = response
            return queue(response, on: connection, daemon: daemon)
        }
        return .YES
    }

    let state = Unmanaged<PendingRequest>.fromOpaque(existing).takeUnretainedValue()
    if uploadSize.pointee > 0 {
        let size = uploadSize.pointee
        if !state.bodyTooLarge {
            if state.body.count + size > limit {
                state.bodyTooLarge = true
                state.body = Data()
            } else if let uploadData {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: size) { state.body.append($0, count: size) }
            }
        }
        uploadSize.pointee = 0
        return .YES
    }

    if state.response == nil {
        let response = answer(state, daemon: daemon)
        state.response = response
        if response.delay > 0 {
            MHD_suspend_connection(connection)
            daemon.scheduler.resume(connection, after: response.delay)
            return .YES
        }
    }
    guard let response = state.response else { return .NO }
    return queue(response, on: connection, daemon: daemon)
}

private func answer(_ state: PendingRequest, daemon: FakeDaemon) -> FakeResponse {
    let request = FakeRequest(method: state.method, path: state.path, query: state.query, headers: state.headers,
                              body: state.body, origin: origin(state.headers["host"], fallback: daemon.origin))
    if state.bodyTooLarge {
        guard let (provider, _) = daemon.router.match(state.path) else {
            return .json(413, ["error": "request body too large"], headers: [("Connection", "close")])
        }
        return provider.error(.tooLarge).adding([("Connection", "close")])
    }
    return daemon.router.handle(request)
}

/// URLs in answers point where the client connected, when the Host header is a plain
/// `host:port`; otherwise at the bound loopback address.
private func origin(_ host: String?, fallback: String) -> String {
    guard let host, !host.isEmpty, host.utf8.count <= 255,
          host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) }) else { return fallback }
    return "http://" + host
}

private func queue(_ response: FakeResponse, on connection: OpaquePointer, daemon: FakeDaemon) -> MHD_Result {
    let mhdResponse: OpaquePointer?
    if let events = response.events, response.pace > 0 || response.hold {
        let body = StreamedBody(response, events: events, holds: daemon.router.holds, scheduler: daemon.scheduler)
        body.connection = connection
        // Unknown size: chunked, so each event leaves as soon as the reader hands it over.
        mhdResponse = MHD_create_response_from_callback(UInt64.max, 1024, fakeStreamRead,
                                                        Unmanaged.passRetained(body).toOpaque(), fakeStreamRelease)
    } else if response.cutOff {
        let body = CutOffBody(bytes: response.body, sendBeforeFailing: response.body.count / 2)
        mhdResponse = MHD_create_response_from_callback(UInt64(max(1, response.body.count)), 4096, fakeCutOffReader,
                                                        Unmanaged.passRetained(body).toOpaque(), fakeCutOffRelease)
    } else {
        mhdResponse = response.body.withUnsafeBytes { bytes in
            MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
        }
    }
    guard let mhdResponse else { return .NO }
    defer { MHD_destroy_response(mhdResponse) }
    for (name, value) in response.headers {
        _ = name.withCString { name in value.withCString { value in MHD_add_response_header(mhdResponse, name, value) } }
    }
    return MHD_queue_response(connection, UInt32(clamping: response.status), mhdResponse)
}

/// Sends the first half, then reports an error so MHD closes the connection mid-body.
func fakeCutOffReader(_ context: UnsafeMutableRawPointer?, _ position: UInt64, _ buffer: UnsafeMutablePointer<CChar>?,
                      _ maximum: Int) -> Int {
    guard let context, let buffer else { return -2 }
    let body = Unmanaged<CutOffBody>.fromOpaque(context).takeUnretainedValue()
    let start = Int(clamping: position)
    guard start < body.sendBeforeFailing else { return -2 }  // MHD_CONTENT_READER_END_WITH_ERROR
    let count = min(maximum, body.sendBeforeFailing - start)
    body.bytes.withUnsafeBytes { bytes in
        guard let base = bytes.baseAddress else { return }
        memcpy(buffer, base + start, count)
    }
    return count
}

func fakeCutOffRelease(_ context: UnsafeMutableRawPointer?) {
    guard let context else { return }
    Unmanaged<CutOffBody>.fromOpaque(context).release()
}

func fakeRequestCompleted(
    _ context: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
    _ requestSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ reason: MHD_RequestTerminationCode
) {
    guard let requestSlot, let state = requestSlot.pointee else { return }
    Unmanaged<PendingRequest>.fromOpaque(state).release()
    requestSlot.pointee = nil
}

private func fakeCollectHeader(
    _ context: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let context, let key else { return .YES }
    let state = Unmanaged<PendingRequest>.fromOpaque(context).takeUnretainedValue()
    let name = String(cString: key).lowercased()
    let text = value.map { String(cString: $0) } ?? ""
    state.headers[name] = state.headers[name].map { $0 + ", " + text } ?? text
    return .YES
}

private func fakeCollectQuery(
    _ context: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let context, let key else { return .YES }
    let state = Unmanaged<PendingRequest>.fromOpaque(context).takeUnretainedValue()
    let name = String(cString: key)
    if state.query[name] == nil, state.query.count < 64 {
        state.query[name] = value.map { String(cString: $0) } ?? ""
    }
    return .YES
}

import CMicroHTTPD
import Foundation

// libmicrohttpd's side of a `ResponseStream`: a callback response of unknown size (chunked).
// The stream travels as the callback's `cls`, retained while MHD holds the response and released
// by the free callback, which MHD calls once the connection is done with it.

/// Queues `response`'s stream as the body of a chunked response.
func queueStream(_ stream: ResponseStream, _ response: HTTPResponse, _ server: HTTPServer, _ connection: OpaquePointer) -> MHD_Result {
    stream.attach(connection)
    let context = Unmanaged.passRetained(stream).toOpaque()
    // 1 KiB blocks: events are small, and a smaller block sends each one sooner.
    guard let mhdResponse = MHD_create_response_from_callback(UInt64.max, 1024, mhdStreamRead, context, mhdStreamFree) else {
        Unmanaged<ResponseStream>.fromOpaque(context).release()
        stream.close()
        return .NO
    }
    defer { MHD_destroy_response(mhdResponse) }
    for (name, value) in response.headers {
        _ = name.withCString { name in value.withCString { value in MHD_add_response_header(mhdResponse, name, value) } }
    }
    server.trackStream(stream)
    stream.onClose { [weak server] in server?.untrackStream(stream) }
    return MHD_queue_response(connection, UInt32(response.status), mhdResponse)
}

func mhdStreamRead(_ context: UnsafeMutableRawPointer?, _ position: UInt64, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) -> Int {
    guard let context, let buffer, capacity > 0 else { return -2 }
    return Unmanaged<ResponseStream>.fromOpaque(context).takeUnretainedValue().read(into: buffer, capacity: capacity)
}

func mhdStreamFree(_ context: UnsafeMutableRawPointer?) {
    guard let context else { return }
    let stream = Unmanaged<ResponseStream>.fromOpaque(context).takeRetainedValue()
    stream.close()
}

// A body of known length read from storage piece by piece (asset downloads). The body travels as
// the callback's `cls` in a retained box, released by the free callback.

private final class BlobBodyBox {
    let body: BlobBody
    init(_ body: BlobBody) { self.body = body }
}

/// Queues `response` with its body read from `blob` as MHD sends it (64 KiB at a time).
func queueBlob(_ blob: BlobBody, _ response: HTTPResponse, _ connection: OpaquePointer) -> MHD_Result {
    let context = Unmanaged.passRetained(BlobBodyBox(blob)).toOpaque()
    guard let mhdResponse = MHD_create_response_from_callback(UInt64(max(0, blob.length)), 64 * 1024, mhdBlobRead, context, mhdBlobFree)
    else {
        Unmanaged<BlobBodyBox>.fromOpaque(context).release()
        return .NO
    }
    defer { MHD_destroy_response(mhdResponse) }
    for (name, value) in response.headers {
        _ = name.withCString { name in value.withCString { value in MHD_add_response_header(mhdResponse, name, value) } }
    }
    return MHD_queue_response(connection, UInt32(response.status), mhdResponse)
}

func mhdBlobRead(_ context: UnsafeMutableRawPointer?, _ position: UInt64, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) -> Int {
    guard let context, let buffer, capacity > 0 else { return -2 }
    let body = Unmanaged<BlobBodyBox>.fromOpaque(context).takeUnretainedValue().body
    let remaining = body.length - Int64(position)
    guard remaining > 0 else { return -1 }
    // -2 (MHD_CONTENT_READER_END_WITH_ERROR) closes the connection: the client sees a short body, never wrong bytes.
    guard let data = try? body.read(body.offset + Int64(position), Int(min(Int64(capacity), remaining))), !data.isEmpty else { return -2 }
    data.withUnsafeBytes { bytes in
        _ = UnsafeMutableRawBufferPointer(start: buffer, count: bytes.count).initializeMemory(as: UInt8.self, from: bytes.bindMemory(to: UInt8.self))
    }
    return data.count
}

func mhdBlobFree(_ context: UnsafeMutableRawPointer?) {
    guard let context else { return }
    Unmanaged<BlobBodyBox>.fromOpaque(context).release()
}

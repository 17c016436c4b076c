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

import Foundation

/// Upload routes (`POST /v1/assets`): the body goes to a receiver piece by piece as libmicrohttpd
/// reads it, never gathered in memory, and the JSON body limit does not apply (the receiver
/// enforces its own). The handler runs on the headers alone, so a refusal (auth, type, a declared
/// length over the limit) is answered before any body byte is read; the finishing work runs on a
/// work queue like a deferred route's.
typealias UploadHandler = @Sendable (HTTPRequest) throws -> any UploadReceiver

/// Where an upload's bytes go. The transport calls it from one thread at a time.
protocol UploadReceiver: AnyObject, Sendable {
    /// The next piece of the body. Throwing refuses the upload (a 413 once the limit is crossed):
    /// the transport reads and drops the rest, then answers with the error.
    func receive(_ bytes: UnsafeRawBufferPointer) throws
    /// The body is complete: the work that checks, stores and answers.
    func finish() throws -> DeferredWork
    /// The request ended without `finish` taking over (refused, client gone): remove what was written.
    /// Safe to call more than once, and after `finish`.
    func discard()
}

/// A request on an upload route, opened by the transport on its first call.
struct OpenUpload {
    let route: Route
    let request: HTTPRequest
    let receiver: any UploadReceiver
}

/// A response body read from storage as libmicrohttpd sends it (asset downloads): `length` bytes
/// of `reader` from `offset`, never held whole.
struct BlobBody: Sendable {
    let read: @Sendable (_ offset: Int64, _ count: Int) throws -> Data
    let offset: Int64
    let length: Int64
}

extension Application {
    enum UploadOpening {
        /// Not an upload route: the body is gathered as usual.
        case notUpload
        case accepted(OpenUpload)
        /// Refused on the headers: the finished response, to be sent with `Connection: close`.
        case refused(HTTPResponse)
    }

    func openUpload(_ request: HTTPRequest, startedAt: UInt64) -> UploadOpening {
        guard request.method != "OPTIONS", case .found(let route, let parameters) = router.match(method: request.method, path: request.path),
              case .upload(let handler) = route.action
        else { return .notUpload }
        var request = request
        request.pathParameters = parameters
        do {
            return .accepted(OpenUpload(route: route, request: request, receiver: try handler(request)))
        } catch {
            let problem = problem(for: error, request: request, operation: route.operationId)
            return .refused(finish(problem.response(requestID: request.requestID), to: request, routeLabel: route.template, startedAt: startedAt))
        }
    }

    /// The body has arrived (or was refused on the way): the answer now, or nil once the finishing
    /// work is queued and the connection suspended.
    func finishUpload(_ upload: OpenUpload, failure: (any Error)?, startedAt: UInt64, suspension: any ResponseSuspension) -> HTTPResponse? {
        if let failure {
            upload.receiver.discard()
            let problem = problem(for: failure, request: upload.request, operation: upload.route.operationId)
            return finish(problem.response(requestID: upload.request.requestID), to: upload.request, routeLabel: upload.route.template,
                          startedAt: startedAt)
        }
        let receiver = upload.receiver
        return start(upload.route, { _ in try receiver.finish() }, upload.request, startedAt: startedAt, suspension: suspension)
    }
}

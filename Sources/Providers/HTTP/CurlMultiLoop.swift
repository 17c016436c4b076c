import CCurl
import Foundation
import Synchronization

/// Provider calls that hold no thread while the provider works: each transfer is an easy handle
/// inside one libcurl multi handle, driven by `curl_multi_socket_action` from an epoll loop on
/// one thread of its own (`CurlMultiCore`). Thousands of calls can be in flight on that one
/// thread; their callers are suspended Swift tasks.
///
/// Why the socket interface on epoll rather than `curl_multi_poll` on a thread: `curl_multi_poll`
/// rebuilds a poll set of every transfer's socket on each wake and `curl_multi_perform` then
/// visits every transfer, so a burst of N calls costs O(N²) work on the loop thread (2,000
/// calls: millions of visits). `curl_multi_socket_action` touches only the socket that is ready,
/// and libcurl's own timer tells the loop when a timeout is due, so the cost per event stays
/// flat as the number in flight grows. The loop thread is the only one that touches the multi
/// handle; callers hand it work through a locked inbox and an eventfd.
///
/// At most `configuration.maxTransfersInFlight` transfers run at once; callers beyond it wait
/// (suspended) for a slot. Cancelling a caller's task removes its transfer.
///
/// What still costs a thread or the loop's time: an uncached host name is looked up by libcurl's
/// threaded resolver (a short-lived thread per lookup, never the loop thread; answers are cached
/// for 60 s per multi handle), and TLS handshakes run on the loop thread, which the multi handle's
/// connection cache (and HTTP/2 multiplexing to one provider host) keeps rare.
public final class CurlMultiLoop: Sendable {
    public let configuration: HTTPClientConfiguration
    private let admission: TransferAdmission
    private let core = Mutex<CurlMultiCore?>(nil)

    public init(configuration: HTTPClientConfiguration) {
        self.configuration = configuration
        self.admission = TransferAdmission(limit: configuration.maxTransfersInFlight)
    }

    deinit {
        core.withLock { $0?.stop() }
    }

    /// Transfers holding a slot now (running, or just finishing).
    public var inFlight: Int { admission.inFlight }

    /// One request, without following redirects (`CurlClient.send` does that).
    public func perform(_ request: OutboundRequest) async -> Result<OutboundResponse, TransportError> {
        guard await admission.acquire() else { return .failure(PendingTransfer.cancelled) }
        defer { admission.release() }
        let started: Result<CurlMultiCore, TransportError> = core.withLock { core in
            if let core { return .success(core) }
            do throws(TransportError) {
                let made = try CurlMultiCore.start(configuration: configuration)
                core = made
                return .success(made)
            } catch {
                return .failure(error)
            }
        }
        let loop: CurlMultiCore
        switch started {
        case let .success(running): loop = running
        case let .failure(error): return .failure(error)
        }
        let call = PendingTransfer(request)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if call.attach(continuation) { loop.submit(call) }
            }
        } onCancel: {
            if call.requestCancel() { loop.cancel(call) }
        }
    }
}

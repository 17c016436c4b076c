import CMicroHTTPD
import Foundation
import Synchronization

/// The libmicrohttpd daemon: epoll with an internal thread pool, limits on connections, time and
/// memory, and a graceful stop. Handlers run synchronously on MHD's threads (see docs/architecture.md);
/// deferred routes suspend their connection while their work runs on a work queue.
final class HTTPServer: @unchecked Sendable {
    struct Limits: Sendable {
        var threads: Int
        var connectionTimeoutSeconds: Int
        var maximumConnections: Int
        var maximumConnectionsPerIP: Int
        /// Bounds the request line plus headers; MHD itself answers 431 beyond it.
        var connectionMemoryBytes: Int
        var maximumBodyBytes: Int
    }

    let application: Application
    let limits: Limits
    // Written once in `start`, read by `stop`; MHD_Daemon is only touched from those two.
    private var daemon: OpaquePointer?
    private(set) var port: Int = 0
    let shuttingDown = Atomic<Bool>(false)
    /// Requests waiting for deferred work, so a stop can release them (MHD aborts on a stop
    /// with connections still suspended).
    private let suspended = Mutex<[ObjectIdentifier: RequestState]>([:])
    /// Open event streams, ended first on a stop so their clients see a clean end.
    private let streams = Mutex<[ObjectIdentifier: ResponseStream]>([:])

    init(application: Application, limits: Limits) {
        self.application = application
        self.limits = limits
    }

    /// Binds `host:port` (port 0 picks a free one) and starts serving.
    func start(host: String, port requestedPort: Int) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(requestedPort).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw ServerStartError("HOST \(host) is not an IPv4 address")
        }
        let flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ITC.rawValue | MHD_USE_TURBO.rawValue
        // MHD's threads reach the server through this pointer until the daemon stops, so the daemon
        // holds a reference: a server dropped without `stop` leaks instead of being called after
        // it is freed (which took a whole test run down once).
        let retained = Unmanaged.passRetained(self)
        let context = retained.toOpaque()
        daemon = withUnsafePointer(to: &address) { addressPointer in
            let options = [
                MHD_OptionItem(option: .THREAD_POOL_SIZE, value: limits.threads, ptr_value: nil),
                MHD_OptionItem(option: .CONNECTION_TIMEOUT, value: limits.connectionTimeoutSeconds, ptr_value: nil),
                MHD_OptionItem(option: .CONNECTION_LIMIT, value: limits.maximumConnections, ptr_value: nil),
                MHD_OptionItem(option: .PER_IP_CONNECTION_LIMIT, value: limits.maximumConnectionsPerIP, ptr_value: nil),
                MHD_OptionItem(option: .CONNECTION_MEMORY_LIMIT, value: limits.connectionMemoryBytes, ptr_value: nil),
                MHD_OptionItem(option: .SOCK_ADDR, value: 0, ptr_value: UnsafeMutableRawPointer(mutating: addressPointer)),
                MHD_OptionItem(option: .LISTEN_BACKLOG_SIZE, value: 1024, ptr_value: nil),
                MHD_OptionItem(option: .END, value: 0, ptr_value: nil),
            ]
            return options.withUnsafeBufferPointer { buffer in
                cmhd_start_logged(UInt32(flags), UInt16(requestedPort), mhdAccessHandler, context,
                                  mhdRequestCompleted, context, mhdLogger, context, nil, nil, buffer.baseAddress)
            }
        }
        guard let daemon else {
            retained.release()
            throw ServerStartError("could not listen on \(host):\(requestedPort) (in use, or not permitted)")
        }
        port = Int(cmhd_bound_port(daemon))
    }

    /// Stops accepting, lets requests in flight finish until `deadline`, then closes everything.
    /// Returns the number of requests still running when the deadline passed (0 on a clean stop).
    @discardableResult
    func stop(grace: TimeInterval) -> Int {
        guard let daemon else { return 0 }
        // Once: a second caller (a signal during a stop) leaves the stop to the first.
        guard !shuttingDown.exchange(true, ordering: .sequentiallyConsistent) else { return 0 }
        // The listening socket stays open until MHD_stop_daemon: MHD_quiesce_daemon on an epoll
        // daemon with worker threads races the workers' own removal of the listener from their
        // epoll sets and aborts the process (an open libmicrohttpd defect, seen once in a full
        // test run). Requests that begin from here on are answered 503 `shutting_down` with
        // `Connection: close` instead, so nothing new is served during the grace period.
        // Event streams end now (their clients reconnect elsewhere); a chat answer streams on
        // through the grace, and one still open at its end is ended with its own error event.
        for stream in streams.withLock({ Array($0.values) }) where stream.endsWhenServerStops { stream.finish() }
        let deadline = Date().addingTimeInterval(grace)
        while application.metrics.inFlight.load(ordering: .acquiring) > 0 && Date() < deadline {
            usleep(5_000)
        }
        let left = streams.withLock { Array($0.values) }
        if !left.isEmpty {
            left.forEach { $0.endForServerStop() }
            // A moment for those last events to leave.
            let flushed = Date().addingTimeInterval(0.5)
            while streams.withLock({ !$0.isEmpty }) && Date() < flushed { usleep(5_000) }
        }
        let unfinished = application.metrics.inFlight.load(ordering: .acquiring)
        for request in suspended.withLock({ requests in defer { requests = [:] }; return Array(requests.values) }) { request.abandon() }
        MHD_stop_daemon(daemon)
        self.daemon = nil
        Unmanaged.passUnretained(self).release()
        return unfinished
    }
}

extension HTTPServer {
    func trackSuspended(_ request: RequestState) {
        suspended.withLock { $0[ObjectIdentifier(request)] = request }
    }

    func untrackSuspended(_ request: RequestState) {
        suspended.withLock { $0[ObjectIdentifier(request)] = nil }
    }

    func trackStream(_ stream: ResponseStream) {
        streams.withLock { $0[ObjectIdentifier(stream)] = stream }
    }

    func untrackStream(_ stream: ResponseStream) {
        streams.withLock { $0[ObjectIdentifier(stream)] = nil }
    }
}

struct ServerStartError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

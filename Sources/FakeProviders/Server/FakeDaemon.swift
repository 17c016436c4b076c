import CMicroHTTPD
import Foundation

/// The libmicrohttpd daemon on 127.0.0.1: epoll with a small thread pool; delayed answers
/// suspend their connection instead of holding a thread.
final class FakeDaemon: @unchecked Sendable {
    struct Limits: Sendable {
        var threads = 4
        var maximumConnections = 4096
        var connectionTimeoutSeconds = 600
    }

    let router: FakeRouter
    let limits: Limits
    let scheduler = DelayScheduler()
    // Set once by `start`.
    private(set) var port = 0
    private var daemon: OpaquePointer?

    init(router: FakeRouter, limits: Limits) {
        self.router = router
        self.limits = limits
    }

    var origin: String { "http://127.0.0.1:\(port)" }

    func start(port requestedPort: Int) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: requestedPort).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue
            | MHD_USE_ITC.rawValue
        let context = Unmanaged.passUnretained(self).toOpaque()
        daemon = withUnsafePointer(to: &address) { addressPointer in
            let options = [
                MHD_OptionItem(option: .THREAD_POOL_SIZE, value: limits.threads, ptr_value: nil),
                MHD_OptionItem(option: .CONNECTION_TIMEOUT, value: limits.connectionTimeoutSeconds, ptr_value: nil),
                MHD_OptionItem(option: .CONNECTION_LIMIT, value: limits.maximumConnections, ptr_value: nil),
                MHD_OptionItem(option: .CONNECTION_MEMORY_LIMIT, value: 64 * 1024, ptr_value: nil),
                MHD_OptionItem(option: .SOCK_ADDR, value: 0, ptr_value: UnsafeMutableRawPointer(mutating: addressPointer)),
                MHD_OptionItem(option: .LISTEN_BACKLOG_SIZE, value: 1024, ptr_value: nil),
                MHD_OptionItem(option: .END, value: 0, ptr_value: nil),
            ]
            return options.withUnsafeBufferPointer { buffer in
                cmhd_start(UInt32(flags), UInt16(clamping: requestedPort), fakeAccessHandler, context,
                           fakeRequestCompleted, context, buffer.baseAddress)
            }
        }
        guard let daemon else { throw DaemonError("could not listen on 127.0.0.1:\(requestedPort) (in use, or not permitted)") }
        port = Int(cmhd_bound_port(daemon))
    }
}

struct DaemonError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import CCurl
import Foundation
import Synchronization

/// The thread behind `CurlMultiLoop`: an epoll set holding libcurl's sockets and an eventfd,
/// one multi handle, and the transfers in it.
///
/// `@unchecked Sendable`: everything but `inbox` and `wakeFD` is touched only by the loop thread
/// (libcurl's socket and timer callbacks run on it too, inside `curl_multi_socket_action`).
/// Other threads only append to `inbox` under its lock and write to `wakeFD`.
final class CurlMultiCore: @unchecked Sendable {
    private enum Command {
        case add(PendingTransfer)
        case cancel(PendingTransfer)
        case stop
    }

    private struct Running {
        let call: PendingTransfer
        let transfer: CurlEasyTransfer
    }

    private let configuration: HTTPClientConfiguration
    private let multi: UnsafeMutableRawPointer
    private let epollFD: Int32
    private let wakeFD: Int32
    private let inbox = Mutex<[Command]>([])

    // Loop thread only.
    private var running: [ObjectIdentifier: Running] = [:]
    private var byHandle: [UnsafeMutableRawPointer: ObjectIdentifier] = [:]
    private var idleHandles: [CurlHandle] = []
    /// When libcurl next wants `CURL_SOCKET_TIMEOUT` (uptime nanoseconds); nil for never.
    private var timerDeadline: UInt64?
    private var stopping = false
    private static let maxIdleHandles = 64
    private static let eventsPerWait = 256

    private init(configuration: HTTPClientConfiguration, multi: UnsafeMutableRawPointer, epollFD: Int32, wakeFD: Int32) {
        self.configuration = configuration
        self.multi = multi
        self.epollFD = epollFD
        self.wakeFD = wakeFD
    }

    /// Creates the multi handle, the epoll set and the eventfd, and starts the loop thread.
    static func start(configuration: HTTPClientConfiguration) throws(TransportError) -> CurlMultiCore {
        CurlRuntime.initialise()
        guard let multi = curl_multi_init() else {
            throw TransportError(.other, "curl_multi_init failed", mayHaveReachedServer: false)
        }
        let epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        let wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        var wake = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(fd: wakeFD))
        guard epollFD >= 0, wakeFD >= 0, epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &wake) == 0 else {
            let reason = String(cString: strerror(errno))
            if epollFD >= 0 { close(epollFD) }
            if wakeFD >= 0 { close(wakeFD) }
            curl_multi_cleanup(multi)
            throw TransportError(.other, "cannot start the transfer loop: \(reason)", mayHaveReachedServer: false)
        }
        let core = CurlMultiCore(configuration: configuration, multi: multi, epollFD: epollFD, wakeFD: wakeFD)
        let me = Unmanaged.passUnretained(core).toOpaque()
        _ = ccurl_multi_setopt_socket_callback(multi, curlMultiSocketCallback)
        _ = ccurl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, me)
        _ = ccurl_multi_setopt_timer_callback(multi, curlMultiTimerCallback)
        _ = ccurl_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, me)
        // The thread keeps the core alive until `stop` ends the loop.
        let thread = Thread { core.run() }
        thread.name = "curl-multi"
        thread.start()
        return core
    }

    func submit(_ call: PendingTransfer) { send(.add(call)) }
    func cancel(_ call: PendingTransfer) { send(.cancel(call)) }
    func stop() { send(.stop) }

    private func send(_ command: Command) {
        inbox.withLock { $0.append(command) }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, MemoryLayout<UInt64>.size)
    }

    // MARK: - Loop thread

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: Self.eventsPerWait)
        var stillRunning: Int32 = 0
        while !stopping {
            let ready = epoll_wait(epollFD, &events, Int32(events.count), waitMilliseconds())
            if ready < 0 && errno != EINTR { break }
            for index in 0..<max(0, Int(ready)) {
                let event = events[index]
                if event.data.fd == wakeFD {
                    var count: UInt64 = 0
                    _ = read(wakeFD, &count, MemoryLayout<UInt64>.size)
                    continue
                }
                var flags: Int32 = 0
                if event.events & EPOLLIN.rawValue != 0 { flags |= CURL_CSELECT_IN }
                if event.events & EPOLLOUT.rawValue != 0 { flags |= CURL_CSELECT_OUT }
                if event.events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { flags |= CURL_CSELECT_ERR }
                _ = curl_multi_socket_action(multi, event.data.fd, flags, &stillRunning)
            }
            takeCommands()
            if let deadline = timerDeadline, DispatchTime.now().uptimeNanoseconds >= deadline {
                timerDeadline = nil
                _ = curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &stillRunning)
            }
            collectFinished()
        }
        shutDown()
    }

    private func waitMilliseconds() -> Int32 {
        guard let deadline = timerDeadline else { return -1 }
        let now = DispatchTime.now().uptimeNanoseconds
        guard deadline > now else { return 0 }
        return Int32(min(60_000, (deadline - now + 999_999) / 1_000_000))
    }

    private func takeCommands() {
        let commands = inbox.withLock { commands -> [Command] in
            defer { commands.removeAll(keepingCapacity: true) }
            return commands
        }
        for command in commands {
            switch command {
            case let .add(call): start(call)
            case let .cancel(call): abandon(call)
            case .stop: stopping = true
            }
        }
    }

    private func start(_ call: PendingTransfer) {
        if call.isCancelRequested {
            call.complete(.failure(PendingTransfer.cancelled))
            return
        }
        guard let handle = idleHandles.popLast() ?? curl_easy_init().map(CurlHandle.init) else {
            call.complete(.failure(TransportError(.other, "curl_easy_init failed", mayHaveReachedServer: false)))
            return
        }
        switch CurlEasyTransfer.prepare(call.request, on: handle, configuration: configuration) {
        case let .failure(error):
            recycle(handle)
            call.complete(.failure(error))
        case let .success(transfer):
            let code = curl_multi_add_handle(multi, handle.raw)
            guard code == CURLM_OK else {
                recycle(handle)
                call.complete(.failure(TransportError(.other, String(cString: curl_multi_strerror(code)), mayHaveReachedServer: false)))
                return
            }
            let key = ObjectIdentifier(call)
            running[key] = Running(call: call, transfer: transfer)
            byHandle[handle.raw] = key
        }
    }

    /// The caller went away: the transfer is removed wherever it was (a request half sent is
    /// abandoned on the wire, as when a blocking call's thread is gone).
    private func abandon(_ call: PendingTransfer) {
        guard let entry = running.removeValue(forKey: ObjectIdentifier(call)) else { return }
        let handle = entry.transfer.handle
        byHandle[handle.raw] = nil
        _ = curl_multi_remove_handle(multi, handle.raw)
        entry.transfer.abandon()
        recycle(handle)
        call.complete(.failure(PendingTransfer.cancelled))
    }

    private func collectFinished() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                  let key = byHandle.removeValue(forKey: easy), let entry = running.removeValue(forKey: key) else { continue }
            let code = message.pointee.data.result
            let outcome = entry.transfer.finish(code)
            _ = curl_multi_remove_handle(multi, easy)
            recycle(entry.transfer.handle)
            entry.call.complete(outcome)
        }
    }

    /// Options are reset (the multi handle keeps the connections) so the next transfer starts clean.
    private func recycle(_ handle: CurlHandle) {
        guard idleHandles.count < Self.maxIdleHandles else {
            curl_easy_cleanup(handle.raw)
            return
        }
        curl_easy_reset(handle.raw)
        idleHandles.append(handle)
    }

    private func shutDown() {
        takeCommands()
        for (_, entry) in running {
            _ = curl_multi_remove_handle(multi, entry.transfer.handle.raw)
            entry.transfer.abandon()
            curl_easy_cleanup(entry.transfer.handle.raw)
            entry.call.complete(.failure(PendingTransfer.cancelled))
        }
        running.removeAll()
        byHandle.removeAll()
        for handle in idleHandles { curl_easy_cleanup(handle.raw) }
        idleHandles.removeAll()
        curl_multi_cleanup(multi)
        close(epollFD)
        close(wakeFD)
    }

    // MARK: - libcurl's callbacks (on the loop thread, inside curl_multi_socket_action)

    /// Keeps the epoll set in step with what libcurl wants to hear about a socket.
    fileprivate func watch(_ socket: curl_socket_t, _ what: Int32) {
        if what == CURL_POLL_REMOVE {
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, socket, nil)
            return
        }
        var mask: UInt32 = 0
        if what == CURL_POLL_IN || what == CURL_POLL_INOUT { mask |= EPOLLIN.rawValue }
        if what == CURL_POLL_OUT || what == CURL_POLL_INOUT { mask |= EPOLLOUT.rawValue }
        var event = epoll_event(events: mask, data: epoll_data_t(fd: socket))
        if epoll_ctl(epollFD, EPOLL_CTL_MOD, socket, &event) != 0 && errno == ENOENT {
            _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, socket, &event)
        }
    }

    fileprivate func setTimer(milliseconds: Int) {
        timerDeadline = milliseconds < 0 ? nil : DispatchTime.now().uptimeNanoseconds + UInt64(milliseconds) * 1_000_000
    }
}

// Global functions, not closures: nonisolated and capture-free (http-layer.md, Swift 6 traps);
// the core arrives through the userdata pointer.

private func curlMultiSocketCallback(_ easy: UnsafeMutableRawPointer?, _ socket: curl_socket_t, _ what: Int32,
                                     _ userdata: UnsafeMutableRawPointer?, _ socketData: UnsafeMutableRawPointer?) -> Int32 {
    guard let userdata else { return -1 }
    Unmanaged<CurlMultiCore>.fromOpaque(userdata).takeUnretainedValue().watch(socket, what)
    return 0
}

private func curlMultiTimerCallback(_ multi: UnsafeMutableRawPointer?, _ milliseconds: Int, _ userdata: UnsafeMutableRawPointer?) -> Int32 {
    guard let userdata else { return -1 }
    Unmanaged<CurlMultiCore>.fromOpaque(userdata).takeUnretainedValue().setTimer(milliseconds: milliseconds)
    return 0
}

import Foundation

/// Blocking socket connects, reads and writes for the tests' hand-made clients and servers.
///
/// A socket with `SO_RCVTIMEO` or `SO_SNDTIMEO` is never restarted after a signal handler, even
/// with `SA_RESTART` (signal(7)), and the test process takes signals: Foundation's `Process`,
/// which the tests use to run PostgreSQL's tools and `fake-providers`, makes a blocked `recv` on
/// another thread fail with `EINTR`. A call interrupted so is repeated, never read as the peer's
/// failure (CI saw "connection dropped (recv failed: Interrupted system call)" that way).
public enum SocketCalls {
    /// `recv` into `chunk`, repeated while a signal interrupts it: bytes read, 0 at end of file,
    /// -1 with `errno` set on a real failure (a timeout included).
    public static func receive(_ fd: Int32, into chunk: inout [UInt8]) -> Int {
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            return count
        }
    }

    /// Up to 64 KiB read with `receive` and appended to `buffer`; the same result as `receive`.
    public static func receive<Buffer: RangeReplaceableCollection<UInt8>>(_ fd: Int32, appendingTo buffer: inout Buffer) -> Int {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = receive(fd, into: &chunk)
        if count > 0 { buffer.append(contentsOf: chunk[0..<count]) }
        return count
    }

    /// `connect` to 127.0.0.1:`port`; false with `errno` set when it fails. A connect interrupted by a
    /// signal goes on in the background (connect(2)): its end is awaited with `poll` (repeated when
    /// interrupted too) and read from `SO_ERROR`, since calling `connect` again would fail with `EALREADY`.
    public static func connectToLoopback(_ fd: Int32, port: Int) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result == 0 { return true }
        guard errno == EINTR else { return false }
        var waiting = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let ready = poll(&waiting, 1, 10_000)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else {
                if ready == 0 { errno = ETIMEDOUT }
                return false
            }
            break
        }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 else { return false }
        if failure != 0 { errno = failure }
        return failure == 0
    }

    /// Sends every byte of `data`; false when the socket fails (or times out) first.
    public static func sendAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let sent = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0, errno == EINTR { continue }
                guard sent > 0 else { return false }
                offset += sent
            }
            return true
        }
    }
}

import Foundation

/// Blocking socket reads and writes for the tests' hand-made clients and servers.
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

import Foundation
import Synchronization

/// Batches log lines for one file descriptor. A line is written within `interval` of being
/// logged, immediately once `capacity` bytes are waiting, and on `flush`. At most `interval` of
/// lines can be lost if the process is killed outright.
final class LogBuffer: Sendable {
    static let standardOutput = LogBuffer(descriptor: 1)

    private let descriptor: Int32
    private let capacity = 64 * 1024
    private let interval: UInt32 = 20_000  // microseconds
    private let pending = Mutex<[UInt8]>([])
    /// Serialises writers, so a flush and the background thread never interleave their bytes.
    private let writing = Mutex(())

    init(descriptor: Int32) {
        self.descriptor = descriptor
        let thread = Thread { [self] in
            while true {
                usleep(interval)
                flush()
            }
        }
        thread.name = "log-flusher"
        thread.start()
    }

    /// Appends one line; `line` holds no newline of its own.
    func append(_ line: [UInt8]) {
        let full = pending.withLock { bytes -> Bool in
            bytes.append(contentsOf: line)
            bytes.append(UInt8(ascii: "\n"))
            return bytes.count >= capacity
        }
        if full { flush() }
    }

    func flush() {
        writing.withLock { _ in
            let bytes = pending.withLock { bytes -> [UInt8] in
                let taken = bytes
                bytes.removeAll(keepingCapacity: true)
                return taken
            }
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
                if written <= 0 { break }
                offset += written
            }
        }
    }
}

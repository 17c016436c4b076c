import Foundation
import Synchronization

/// Batches log lines for one file descriptor. A background thread writes them out within
/// `interval` of being logged, sooner once `batchBytes` are waiting, and `flush` writes what is
/// left. At most `interval` of lines can be lost if the process is killed outright. With nothing
/// to write the thread sleeps untimed: an idle server takes no timer wake-ups for its log.
///
/// Request threads only append under a short lock and never write: when the descriptor stalls
/// (a full pipe nobody reads), only the writer thread waits, lines beyond `maximumPendingBytes`
/// are dropped whole and counted (`droppedLines`, in /metrics), and memory stays bounded.
final class LogBuffer: @unchecked Sendable {
    static let standardOutput = LogBuffer(descriptor: 1)

    private struct Pending {
        var bytes: [UInt8] = []
        var dropped = 0
    }

    private let descriptor: Int32
    private let batchBytes = 64 * 1024
    let maximumPendingBytes: Int
    private let interval = 0.02  // seconds
    /// Guards `pendingState`. A pthread mutex, not Swift's `Mutex`: every request appends here, and
    /// `Mutex` spins before it sleeps, so with many HTTP threads on few cores its waiters burned the
    /// time a preempted holder needed (two thirds of `/healthz` throughput with 16 threads on 2 cores).
    private let pendingLock = NSLock()
    private var pendingState = Pending()
    /// Serialises writers, so a flush and the background thread never interleave their bytes.
    private let writing = Mutex(())
    /// Wakes the writer early when a batch is ready.
    private let wake = DispatchSemaphore(value: 0)
    /// Wakes the idle writer when a line arrives in an empty buffer.
    private let arrived = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)
    /// The writer thread's kernel id (0 until it runs), which /proc/self/task lists it by.
    private let writerTask = Atomic<Int32>(0)
    private let writerStarted = DispatchSemaphore(value: 0)

    init(descriptor: Int32, maximumPendingBytes: Int = 4 << 20) {
        self.descriptor = descriptor
        self.maximumPendingBytes = maximumPendingBytes
        let thread = Thread { [self] in
            // Named from inside: on Linux only a running thread's own name reaches the kernel's task
            // name, which is what top, perf and /proc show.
            Thread.current.name = "log-flusher"
            writerTask.store(Self.currentTaskID(), ordering: .releasing)
            writerStarted.signal()
            while !stopped.load(ordering: .relaxed) {
                arrived.wait()
                // Gather for up to `interval` after the first line (sooner once a batch is full).
                _ = wake.wait(timeout: .now() + interval)
                flush()
            }
            flush()
        }
        thread.start()
    }

    private func withPending<T>(_ body: (inout Pending) -> T) -> T {
        pendingLock.lock()
        defer { pendingLock.unlock() }
        return body(&pendingState)
    }

    /// Appends one line; `line` holds no newline of its own. Never blocks on the descriptor.
    func append(_ line: [UInt8]) {
        let (first, batchReady) = withPending { pending -> (Bool, Bool) in
            guard pending.bytes.count + line.count + 1 <= maximumPendingBytes else {
                pending.dropped += 1
                return (false, false)
            }
            let before = pending.bytes.count
            pending.bytes.append(contentsOf: line)
            pending.bytes.append(UInt8(ascii: "\n"))
            return (before == 0, before < batchBytes && pending.bytes.count >= batchBytes)
        }
        // A signal left over from a line another flush already wrote costs one empty pass, no more.
        if first { arrived.signal() }
        if batchReady { wake.signal() }
    }

    /// The writer thread's kernel id, once it runs: nil if it has not started within `seconds`.
    func writerThreadID(waitingUpTo seconds: Double) -> Int32? {
        let task = writerTask.load(ordering: .acquiring)
        if task != 0 { return task }
        guard writerStarted.wait(timeout: .now() + seconds) == .success else { return nil }
        writerStarted.signal()
        return writerTask.load(ordering: .acquiring)
    }

    /// This thread's kernel id, read from /proc/thread-self (a link to `PID/task/TID`): Glibc's
    /// `gettid` is not visible to Swift. 0 if it cannot be read.
    private static func currentTaskID() -> Int32 {
        var link = [UInt8](repeating: 0, count: 64)
        let count = link.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { readlink("/proc/thread-self", $0.baseAddress!, $0.count) }
        }
        guard count > 0 else { return 0 }
        return link[..<count].split(separator: UInt8(ascii: "/")).last.flatMap { Int32(String(decoding: $0, as: UTF8.self)) } ?? 0
    }

    /// Lines dropped so far because the descriptor did not keep up.
    var droppedLines: Int { withPending { $0.dropped } }

    /// Bytes waiting to be written.
    var pendingBytes: Int { withPending { $0.bytes.count } }

    /// Writes out everything appended so far (blocking while the descriptor is full).
    func flush() {
        writing.withLock { _ in
            let bytes = withPending { pending -> [UInt8] in
                let taken = pending.bytes
                pending.bytes.removeAll(keepingCapacity: true)
                return taken
            }
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
                if written <= 0 {
                    if written < 0 && errno == EINTR { continue }
                    break
                }
                offset += written
            }
        }
    }

    /// The last flush before the process exits: gives up after `seconds` when the descriptor
    /// stays full, so a stalled reader cannot keep a stopping server alive. Writes at most
    /// `PIPE_BUF` bytes per ready signal, which a pipe takes without blocking.
    func flush(givingUpAfter seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        // The writer thread may itself be stuck in a write to the stalled descriptor.
        while writing.withLockIfAvailable({ _ in writeOut(before: deadline) }) == nil {
            guard Date() < deadline else { return }
            usleep(1_000)
        }
    }

    private func writeOut(before deadline: Date) {
        let bytes = withPending { pending -> [UInt8] in
            let taken = pending.bytes
            pending.bytes.removeAll()
            return taken
        }
        var offset = 0
        while offset < bytes.count {
            var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let waitMilliseconds = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            guard poll(&ready, 1, waitMilliseconds) > 0, ready.revents & Int16(POLLOUT) != 0 else { return }
            let chunk = min(bytes.count - offset, Int(PIPE_BUF))
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, chunk) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Ends the writer thread after its current write (tests make buffers of their own).
    func stop() {
        stopped.store(true, ordering: .relaxed)
        arrived.signal()
        wake.signal()
    }
}

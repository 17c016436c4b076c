import Dispatch
import Foundation
import Synchronization

/// Turns SIGTERM and SIGINT into one wait: the default action (die at once) is replaced by a
/// dispatch source, so the server can stop accepting and finish what it has in flight. A failure
/// found while serving (`stop(status:)`) ends the same wait, so the process stops in the same order
/// and exits with that status instead of being torn down from the failing thread.
final class ShutdownSignal: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let failure = Mutex<Int32>(0)
    // Kept alive for the process lifetime; DispatchSource is not Sendable, and nothing else touches them.
    private var sources: [any DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "shutdown-signal")

    init() {
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [semaphore] in semaphore.signal() }
            source.resume()
            sources.append(source)
        }
    }

    /// Ends the wait with `status` as the process's exit status (the first failure's is kept).
    func stop(status: Int32) {
        failure.withLock { if $0 == 0 { $0 = status } }
        semaphore.signal()
    }

    /// Blocks the calling thread until a signal or a `stop` arrives; the exit status to return
    /// (0 for a signal).
    func wait() -> Int32 {
        semaphore.wait()
        return failure.withLock { $0 }
    }
}

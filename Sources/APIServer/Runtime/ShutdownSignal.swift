import Dispatch
import Foundation

/// Turns SIGTERM and SIGINT into one wait: the default action (die at once) is replaced by a
/// dispatch source, so the server can stop accepting and finish what it has in flight.
final class ShutdownSignal: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
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

    /// Blocks the calling thread until a signal arrives.
    func wait() {
        semaphore.wait()
    }
}

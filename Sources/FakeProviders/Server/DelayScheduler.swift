import CMicroHTTPD
import Foundation
import Synchronization

/// Resumes suspended connections when their delay is over. One thread sleeps until the next
/// deadline, so thousands of slow answers cost no thread each.
final class DelayScheduler: @unchecked Sendable {
    private struct Entry {
        let deadline: UInt64
        /// An `MHD_Connection *`, kept as a bit pattern so the entry is plain data.
        let connection: UInt
    }

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var entries: [Entry] = []

    init() {
        let scheduler = self
        Thread.detachNewThread { scheduler.run() }
    }

    func resume(_ connection: OpaquePointer, after seconds: Double) {
        let nanoseconds = UInt64(max(0, min(seconds, Behavior.maximumValue)) * 1_000_000_000)
        condition.lock()
        entries.append(Entry(deadline: DispatchTime.now().uptimeNanoseconds + nanoseconds,
                             connection: UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection)))))
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            let now = DispatchTime.now().uptimeNanoseconds
            let due = entries.filter { $0.deadline <= now }
            entries.removeAll { $0.deadline <= now }
            if due.isEmpty {
                if let next = entries.map(\.deadline).min() {
                    _ = condition.wait(until: Date().addingTimeInterval(Double(next - now) / 1_000_000_000))
                } else {
                    condition.wait()
                }
            }
            condition.unlock()
            for entry in due {
                if let pointer = UnsafeRawPointer(bitPattern: entry.connection) {
                    MHD_resume_connection(OpaquePointer(pointer))
                }
            }
        }
    }
}

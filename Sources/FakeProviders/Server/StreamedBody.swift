import CMicroHTTPD
import Foundation
import Synchronization

/// An SSE answer sent event by event on a chunked response, so a client can be shown to read
/// early events while the rest is still held back: `pace` seconds between events (the connection
/// suspended meanwhile, no thread), a hold after the first content event until `POST
/// /_fake/release` (`StreamHolds`), or a cut after half the events (the connection dropped with
/// no end). Used only for a paced or held answer; any other stream goes out whole, with its length.
/// MHD calls the reader for one connection from one thread at a time.
final class StreamedBody: @unchecked Sendable {
    let events: [Data]
    let pace: Double
    /// Index of the last event sent before holding; nil: no hold.
    let holdAfter: Int?
    /// Events sent before the connection is dropped; nil: all of them.
    let cutAfter: Int?
    let holds: StreamHolds
    let scheduler: DelayScheduler
    private let epoch: Int
    var connection: OpaquePointer?

    // The reader's own state (MHD's one thread per connection at a time).
    private var index = 0
    private var offset = 0
    private var nextEventAt: UInt64 = 0
    private var held = false

    init(_ response: FakeResponse, events: [Data], holds: StreamHolds, scheduler: DelayScheduler) {
        self.events = events
        self.pace = max(0, min(response.pace, 10))
        self.holdAfter = response.hold ? response.firstContentEvent : nil
        self.cutAfter = response.cutOff ? events.count / 2 : nil
        self.holds = holds
        self.scheduler = scheduler
        self.epoch = holds.epoch
    }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        if offset == 0 {
            // At an event's start: the end, a cut, a hold or a pause may come first.
            if let cutAfter, index >= cutAfter { return -2 }  // MHD_CONTENT_READER_END_WITH_ERROR
            guard index < events.count else { return -1 }  // MHD_CONTENT_READER_END_OF_STREAM
            guard let connection else { return -2 }
            if let holdAfter, index > holdAfter, !held {
                held = true
                if holds.hold(connection, since: epoch) { return 0 }
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if nextEventAt > now {
                MHD_suspend_connection(connection)
                scheduler.resume(connection, after: Double(nextEventAt - now) / 1_000_000_000)
                return 0
            }
        }
        let event = events[index]
        let count = min(capacity, event.count - offset)
        event.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            memcpy(buffer, base + offset, count)
        }
        offset += count
        if offset == event.count {
            index += 1
            offset = 0
            nextEventAt = DispatchTime.now().uptimeNanoseconds + UInt64(pace * 1_000_000_000)
        }
        return count
    }
}

/// Streams held after their first content event, released together by `POST /_fake/release`
/// (or `/_fake/reset`). A release counts as an epoch: a stream that reaches its hold after a
/// release made since it started does not hold (its client already saw the first event and
/// released it).
final class StreamHolds: Sendable {
    private struct State {
        var epoch = 0
        var held: [UInt] = []
    }

    private let state = Mutex(State())

    var epoch: Int { state.withLock { $0.epoch } }

    /// Suspends the connection unless a release came since `since`; true when it did. Suspended
    /// and resumed under one lock, so no resume can come before its suspend.
    func hold(_ connection: OpaquePointer, since: Int) -> Bool {
        state.withLock { state in
            guard state.epoch == since else { return false }
            state.held.append(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection))))
            MHD_suspend_connection(connection)
            return true
        }
    }

    /// Resumes every held stream; returns how many.
    @discardableResult
    func release() -> Int {
        state.withLock { state in
            state.epoch += 1
            for raw in state.held {
                if let pointer = UnsafeRawPointer(bitPattern: raw) { MHD_resume_connection(OpaquePointer(pointer)) }
            }
            defer { state.held = [] }
            return state.held.count
        }
    }
}

func fakeStreamRead(_ context: UnsafeMutableRawPointer?, _ position: UInt64, _ buffer: UnsafeMutablePointer<CChar>?,
                    _ maximum: Int) -> Int {
    guard let context, let buffer, maximum > 0 else { return -2 }
    return Unmanaged<StreamedBody>.fromOpaque(context).takeUnretainedValue().read(into: buffer, capacity: maximum)
}

func fakeStreamRelease(_ context: UnsafeMutableRawPointer?) {
    guard let context else { return }
    Unmanaged<StreamedBody>.fromOpaque(context).release()
}

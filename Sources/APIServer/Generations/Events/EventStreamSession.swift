import Domain
import Foundation
import Persistence
import Synchronization

/// Where an open stream stands: one generation's events go by id; a stream over many
/// generations by position (see `GenerationEventPosition`).
enum EventStreamCursor: Sendable, Equatable {
    case id(Int64)
    case position(GenerationEventPosition)

    /// The event it names.
    var eventID: Int64 {
        switch self {
        case .id(let id): id
        case .position(let position): position.id
        }
    }

    /// The cursor of the same kind just past `event`.
    func past(_ event: StoredGenerationEvent) -> EventStreamCursor {
        switch self {
        case .id: .id(event.id)
        case .position: .position(event.position)
        }
    }

    /// Its `id:` line's text (what `Last-Event-ID` sends back).
    var text: String {
        switch self {
        case .id(let id): String(id)
        case .position(let position): position.text
        }
    }
}

/// One open event stream: reads the caller's events after its cursor whenever it is woken and
/// writes them to the client. It never repeats or skips an event: the cursor only moves past
/// events that were written to the stream. A stream for one generation ends after its terminal
/// event; a stream over all generations stays open until the client leaves.
final class EventStreamSession: Sendable {
    let userID: UUID
    let scope: GenerationEventScope
    let claimsJSON: String
    let stream: ResponseStream
    private let hub: EventStreamHub

    private struct State {
        var cursor: EventStreamCursor
        var fetching = false
        var again = false
        var done = false
        /// The pause before looking again while events are held back for an older transaction.
        var withheldPause = EventStreamSession.firstWithheldPause
        /// A look again is already scheduled: one chain of them per stream, however often it is woken.
        var lookAgainScheduled = false
    }

    /// A held-back event waits for a transaction that began before it to end, which is usually
    /// a matter of milliseconds; the pause doubles up to the hub's poll, which also wakes the stream.
    static let firstWithheldPause = 0.01

    private let state: Mutex<State>

    /// Events read per query; a longer history is sent in several.
    static let pageSize = 200
    /// A history is read no further while this much is written and unsent (a client reading it
    /// slowly), and goes on once the client has taken all but `resumeBelowBytes`: the backlog
    /// stays far under the stream's bound, which would cut the client off.
    static let pauseAboveBytes = 512 << 10
    static let resumeBelowBytes = 64 << 10

    init(userID: UUID, scope: GenerationEventScope, claimsJSON: String, cursor: EventStreamCursor, stream: ResponseStream, hub: EventStreamHub) {
        self.userID = userID
        self.scope = scope
        self.claimsJSON = claimsJSON
        self.stream = stream
        self.hub = hub
        self.state = Mutex(State(cursor: cursor))
    }

    var endsAtTerminalEvent: Bool { scope.generationID != nil }

    /// Registers with the hub and reads once, so nothing written since the first read is missed.
    func open() {
        hub.add(self)
        stream.onClose { [self] in
            state.withLock { $0.done = true }
            hub.remove(self)
        }
        wake()
    }

    /// Reads new events on the hub's queue (once more if woken while reading).
    func wake() {
        startReading()
    }

    private func startReading() {
        let start = state.withLock { state -> Bool in
            guard !state.done else { return false }
            if state.fetching { state.again = true; return false }
            state.fetching = true
            return true
        }
        if start { hub.fetchQueue.async { [self] in pump() } }
    }

    func heartbeat() {
        if !stream.write(Array(": heartbeat\n\n".utf8)) { end() }
    }

    private func pump() {
        while true {
            if stream.unsentBytes > Self.pauseAboveBytes {
                // What is left waits until the client has read this far (its wake-ups meanwhile too).
                state.withLock { $0.fetching = false; $0.again = false }
                stream.whenDrained(below: Self.resumeBelowBytes) { [self] in startReading() }
                return
            }
            let cursor = state.withLock { $0.cursor }
            var more = false
            do {
                let events: [StoredGenerationEvent]
                var withheld = false
                switch cursor {
                case .id(let id):
                    events = try hub.log.events(scope, after: id, limit: Self.pageSize, claimsJSON: claimsJSON)
                case .position(let position):
                    let page = try hub.log.settledEvents(scope, after: position, limit: Self.pageSize, claimsJSON: claimsJSON)
                    (events, withheld) = (page.events, page.withheld)
                }
                var text = ""
                var terminal = false
                var lastWritten: EventStreamCursor?
                for event in events {
                    let past = cursor.past(event)
                    text += ServerSentEvents.format(event, id: past.text)
                    lastWritten = past
                    if event.isTerminal && endsAtTerminalEvent { terminal = true; break }
                }
                if let lastWritten {
                    guard stream.write(Array(text.utf8)) else { end(); return }
                    state.withLock { $0.cursor = lastWritten }
                }
                if terminal {
                    stream.finish()
                    end()
                    return
                }
                more = events.count == Self.pageSize
                if withheld && !more { lookAgainSoon() } else { state.withLock { $0.withheldPause = Self.firstWithheldPause } }
            } catch {
                // The next wake-up (the hub's poll at the latest) tries again from the same cursor.
                hub.logger.warn("event stream read failed", ["error": .string(String(reflecting: error))])
            }
            let again = state.withLock { state -> Bool in
                if more || state.again { state.again = false; return !state.done }
                state.fetching = false
                return false
            }
            if !again { return }
        }
    }

    /// Events are held back behind a transaction still running: looks again after a pause that
    /// grows while they stay held.
    private func lookAgainSoon() {
        let pause = state.withLock { state -> Double? in
            guard !state.lookAgainScheduled else { return nil }
            state.lookAgainScheduled = true
            defer { state.withheldPause = min(state.withheldPause * 2, hub.pollSeconds) }
            return state.withheldPause
        }
        guard let pause else { return }
        hub.fetchQueue.asyncAfter(deadline: .now() + pause) { [self] in
            state.withLock { $0.lookAgainScheduled = false }
            startReading()
        }
    }

    private func end() {
        state.withLock { $0.done = true; $0.fetching = false }
        hub.remove(self)
    }
}

import Domain
import Foundation
import Persistence
import Synchronization

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
        var cursor: Int64
        var fetching = false
        var again = false
        var done = false
    }

    private let state: Mutex<State>

    /// Events read per query; a longer history is sent in several.
    static let pageSize = 200
    /// A history is read no further while this much is written and unsent (a client reading it
    /// slowly), and goes on once the client has taken all but `resumeBelowBytes`: the backlog
    /// stays far under the stream's bound, which would cut the client off.
    static let pauseAboveBytes = 512 << 10
    static let resumeBelowBytes = 64 << 10

    init(userID: UUID, scope: GenerationEventScope, claimsJSON: String, cursor: Int64, stream: ResponseStream, hub: EventStreamHub) {
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
        if !endsAtTerminalEvent {
            // A stream over many generations sends an event only once it has settled (see
            // PostgresGenerationEventLog), so it looks once more after that, whatever it found now.
            hub.fetchQueue.asyncAfter(deadline: .now() + Double(PostgresGenerationEventLog.crossGenerationSettleSeconds) + 0.5) {
                [self] in startReading()
            }
        }
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
                let events = try hub.log.events(scope, after: cursor, limit: Self.pageSize, claimsJSON: claimsJSON)
                var text = ""
                var terminal = false
                var lastWritten: Int64?
                for event in events {
                    text += ServerSentEvents.format(event)
                    lastWritten = event.id
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

    private func end() {
        state.withLock { $0.done = true; $0.fetching = false }
        hub.remove(self)
    }
}

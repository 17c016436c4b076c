import Domain
import Foundation
import Synchronization

/// The open event streams of this process and what wakes them. The engine calls `notify(user:)`
/// after each step it runs here; events another process wrote (a worker) are found by a poll of
/// the table's highest id and the oldest running transaction once per tick, which wakes every
/// open stream when either moved (an event held back becomes sendable when the second does). A tick
/// also sends heartbeats. One timer thread and one serial fetch queue serve every stream, so an
/// open stream costs a suspended connection and a few objects, never a thread.
final class EventStreamHub: Sendable {
    let log: any GenerationEventLog
    let logger: Logger
    /// Where streams read the database: serial, so a burst of wake-ups queues here instead of
    /// starting a thread per stream.
    let fetchQueue = DispatchQueue(label: "event-streams")
    /// A comment line this often keeps idle connections (and proxies) open, well inside the
    /// connection timeout, and finds clients that went away.
    let heartbeatSeconds: Double
    /// How often other processes' events are looked for.
    let pollSeconds: Double

    private struct State {
        var sessions: [ObjectIdentifier: EventStreamSession] = [:]
        var started = false
        var lastSeen: GenerationEventLogMark?
        var lastHeartbeat = Date()
    }

    private let state = Mutex(State())

    init(log: any GenerationEventLog, logger: Logger, heartbeatSeconds: Double, pollSeconds: Double = 1) {
        self.log = log
        self.logger = logger
        self.heartbeatSeconds = heartbeatSeconds
        self.pollSeconds = pollSeconds
    }

    /// The heartbeat interval for a server whose idle connections close after `timeout` seconds.
    static func heartbeatSeconds(connectionTimeout timeout: Int) -> Double {
        max(0.5, min(15, Double(timeout) / 3))
    }

    var openStreams: Int { state.withLock { $0.sessions.count } }

    func add(_ session: EventStreamSession) {
        let start = state.withLock { state -> Bool in
            state.sessions[ObjectIdentifier(session)] = session
            defer { state.started = true }
            return !state.started
        }
        if start { startTicking() }
    }

    func remove(_ session: EventStreamSession) {
        _ = state.withLock { $0.sessions.removeValue(forKey: ObjectIdentifier(session)) }
    }

    /// Events of `user` were written in this process.
    func notify(user: UUID) {
        sessions().filter { $0.userID == user }.forEach { $0.wake() }
    }

    private func sessions() -> [EventStreamSession] {
        state.withLock { Array($0.sessions.values) }
    }

    private func startTicking() {
        // The thread ends when the last stream closes; the next stream starts another.
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: min(pollSeconds, heartbeatSeconds))
                let idle = state.withLock { state -> Bool in
                    guard state.sessions.isEmpty else { return false }
                    state.started = false
                    state.lastSeen = nil
                    return true
                }
                if idle { return }
                tick()
            }
        }
        thread.name = "event-streams"
        thread.start()
    }

    private func tick() {
        let (open, heartbeat) = state.withLock { state -> ([EventStreamSession], Bool) in
            let due = Date().timeIntervalSince(state.lastHeartbeat) >= heartbeatSeconds
            if due { state.lastHeartbeat = Date() }
            return (Array(state.sessions.values), due)
        }
        if heartbeat { open.forEach { $0.heartbeat() } }
        guard !open.isEmpty else { return }
        do {
            let mark = try log.mark()
            let moved = state.withLock { state -> Bool in
                defer { state.lastSeen = mark }
                return state.lastSeen != mark
            }
            if moved { open.forEach { $0.wake() } }
        } catch {
            logger.warn("event stream poll failed", ["error": .string(String(reflecting: error))])
        }
    }
}

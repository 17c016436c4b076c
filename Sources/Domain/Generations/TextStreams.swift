import Foundation

/// Text generations whose answer someone in this process reads as it arrives (a streaming chat
/// request), keyed by generation id. The reader registers before the generation can start and
/// removes its sink when it is done; the runner looks here before a text submission and, when a
/// sink is registered, uses the provider's streaming call. A generation run by another process
/// finds no sink here: its reader gets the finished text instead.
public final class TextStreams: Sendable {
    private let lock = NSLock()
    // Guarded by `lock`.
    nonisolated(unsafe) private var sinks: [UUID: WatchedSink] = [:]

    public init() {}

    public func register(_ sink: TextDeltaSink, for generation: UUID) {
        lock.withLock { sinks[generation] = WatchedSink(sink) }
    }

    public func remove(_ generation: UUID) {
        _ = lock.withLock { sinks.removeValue(forKey: generation) }
    }

    /// The registered sink, wrapped so the runner can tell whether any text reached it.
    public func sink(for generation: UUID) -> WatchedSink? {
        lock.withLock { sinks[generation] }
    }
}

/// A sink that remembers the text it was given: once a reader has part of an answer, a failure
/// must not fall through to another candidate (the reader would get a second answer spliced onto
/// the first), and what it got is what the provider billed if it never reported its usage.
public final class WatchedSink: Sendable {
    public let sink: TextDeltaSink
    private let lock = NSLock()
    nonisolated(unsafe) private var delivered = false
    nonisolated(unsafe) private var text = ""

    init(_ sink: TextDeltaSink) {
        self.sink = sink
    }

    public var hasDelivered: Bool { lock.withLock { delivered } }

    /// The text given to the reader so far: what a stream that broke before the provider reported
    /// its usage is charged by (the provider billed the tokens it generated).
    public var received: String { lock.withLock { text } }

    /// The sink as handed to the adapter.
    public var watching: TextDeltaSink {
        TextDeltaSink(delta: { [self] piece in
            lock.withLock {
                delivered = true
                text += piece
            }
            sink.delta(piece)
        }, end: sink.end)
    }
}

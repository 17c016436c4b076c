@testable import APIServer
import Domain
import Foundation
import Synchronization
import XCTest

/// An event stream replaying a long history to a client that reads slowly reads the history
/// no faster than the client takes it: the backlog stays under the stream's bound (which would
/// cut the client off) and every event still arrives, once and in order.
final class EventStreamBackpressureTests: XCTestCase {
    /// `count` events with payloads of about 500 bytes; counts the pages read.
    private final class LongHistory: GenerationEventLog {
        let events: [StoredGenerationEvent]
        let pagesRead = Atomic(0)

        init(count: Int) {
            let generation = UUID(), project = UUID()
            let payload = #"{"note":""# + String(repeating: "x", count: 480) + #""}"#
            events = (1...count).map {
                StoredGenerationEvent(id: Int64($0), generationID: generation, projectID: project, type: "progress",
                                      payloadJSON: payload, createdAt: Date(timeIntervalSince1970: 1_800_000_000))
            }
        }

        func events(_ scope: GenerationEventScope, after: Int64, limit: Int, claimsJSON: String) throws -> [StoredGenerationEvent] {
            pagesRead.add(1, ordering: .relaxed)
            return Array(events.lazy.filter { $0.id > after }.prefix(limit))
        }

        func settledEvents(_ scope: GenerationEventScope, after: GenerationEventPosition, limit: Int,
                           claimsJSON: String) throws -> SettledGenerationEvents {
            pagesRead.add(1, ordering: .relaxed)
            return SettledGenerationEvents(events: Array(events.lazy.filter { $0.position > after }.prefix(limit)), withheld: false)
        }

        func position(afterEvent id: Int64, claimsJSON: String) throws -> GenerationEventPosition {
            GenerationEventPosition(transaction: 0, id: id)
        }

        func mark() throws -> GenerationEventLogMark { GenerationEventLogMark(latestID: events.last?.id ?? 0, horizon: 1) }
    }

    func testASlowReaderOfALongHistoryIsNeverCutOffAndGetsEveryEventInOrder() throws {
        let history = LongHistory(count: 12_000)
        let hub = EventStreamHub(log: history, logger: Logger(minimumLevel: .error) { _ in }, heartbeatSeconds: 600, pollSeconds: 600)
        let stream = ResponseStream()
        let session = EventStreamSession(userID: UUID(), scope: GenerationEventScope(), claimsJSON: "{}", cursor: .position(.start),
                                         stream: stream, hub: hub)
        session.open()
        defer { stream.close() }
        // Not read at all for a while: the history's reading pauses near its mark.
        Thread.sleep(forTimeInterval: 1)
        let backlog = stream.unsentBytes
        XCTAssertGreaterThan(backlog, 0)
        XCTAssertLessThan(backlog, EventStreamSession.pauseAboveBytes + 200 * 700, "paused after at most one more page")
        XCTAssertLessThan(history.pagesRead.load(ordering: .relaxed), 12_000 / EventStreamSession.pageSize, "not the whole history")
        XCTAssertFalse(stream.isClosed)

        var received: [UInt8] = []
        var buffer = [CChar](repeating: 0, count: 1024)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let count = buffer.withUnsafeMutableBufferPointer { stream.read(into: $0.baseAddress!, capacity: 1024) }
            if count > 0 {
                received += buffer[..<count].map { UInt8(bitPattern: $0) }
                continue
            }
            XCTAssertNotEqual(count, -2, "the client was cut off")
            if count == -2 || String(decoding: received.suffix(4096), as: UTF8.self).contains("id: 12000.0\n") { break }
            Thread.sleep(forTimeInterval: 0.005)
        }
        let ids = String(decoding: received, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("id: ") }.map { Int($0.dropFirst(4).dropLast(2)) }
        XCTAssertEqual(ids, (1...12_000).map { $0 }, "every event, once, in order")
    }

    /// Events held back behind a transaction that stays open: every read finds them withheld.
    private final class HeldBack: GenerationEventLog {
        let reads = Atomic(0)
        let ticks = Atomic<UInt64>(0)

        func events(_ scope: GenerationEventScope, after: Int64, limit: Int, claimsJSON: String) throws -> [StoredGenerationEvent] { [] }

        func settledEvents(_ scope: GenerationEventScope, after: GenerationEventPosition, limit: Int,
                           claimsJSON: String) throws -> SettledGenerationEvents {
            reads.add(1, ordering: .relaxed)
            return SettledGenerationEvents(events: [], withheld: true)
        }

        func position(afterEvent id: Int64, claimsJSON: String) throws -> GenerationEventPosition { .start }

        /// Moves every tick (other transactions end all the time), so the hub wakes the stream each time.
        func mark() throws -> GenerationEventLogMark {
            GenerationEventLogMark(latestID: 1, horizon: ticks.add(1, ordering: .relaxed).newValue)
        }
    }

    /// A stream whose events stay held back looks again on one chain of growing pauses, however often
    /// it is woken meanwhile; each wake used to start a chain of its own that never ended while the
    /// events were held, so the reads grew with every tick of the hub.
    func testAStreamWhoseEventsAreHeldBackLooksAgainOnOneChainHoweverOftenWoken() throws {
        let log = HeldBack()
        let hub = EventStreamHub(log: log, logger: Logger(minimumLevel: .error) { _ in }, heartbeatSeconds: 600, pollSeconds: 0.1)
        let stream = ResponseStream()
        let session = EventStreamSession(userID: UUID(), scope: GenerationEventScope(), claimsJSON: "{}", cursor: .position(.start),
                                         stream: stream, hub: hub)
        session.open()
        defer { stream.close() }
        for _ in 0..<20 {
            session.wake()
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 4)
        // About 5 s: one chain (a read every 0.1 s once its pause has grown) plus the hub's ticks and
        // the 20 wakes, each at most one read: about 120 here. A chain per wake: about 650.
        let reads = log.reads.load(ordering: .relaxed)
        XCTAssertGreaterThan(reads, 10, "it does look again")
        XCTAssertLessThan(reads, 300)
    }
}

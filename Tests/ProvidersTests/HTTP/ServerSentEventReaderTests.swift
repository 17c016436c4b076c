import Foundation
@testable import Providers
import XCTest

/// The incremental SSE reader: the same events however the bytes are cut, every line ending,
/// comments and multi-line data, and a bound on a line's length.
final class ServerSentEventReaderTests: XCTestCase {
    private func events(_ pieces: [Data]) -> (events: [ServerSentEventReader.Event], stopped: Bool) {
        var reader = ServerSentEventReader()
        var events: [ServerSentEventReader.Event] = []
        var stopped = false
        for piece in pieces where !stopped {
            stopped = !piece.withUnsafeBytes { reader.feed($0) { events.append($0); return true } }
        }
        return (events, stopped)
    }

    func testEventsAreTheSameWhetherTheBytesArriveWholeOrOneByOne() {
        let text = ": OPENROUTER PROCESSING\n\nevent: message_start\ndata: {\"a\":1}\n\ndata: first\r\ndata: second\r\n\r\ndata:no-space\r\rdata: [DONE]\n\n"
        let bytes = Data(text.utf8)
        let whole = events([bytes])
        let oneByOne = events(bytes.map { Data([$0]) })
        XCTAssertEqual(whole.events, [
            ServerSentEventReader.Event(name: "message_start", data: "{\"a\":1}"),
            ServerSentEventReader.Event(name: nil, data: "first\nsecond"),
            ServerSentEventReader.Event(name: nil, data: "no-space"),
            ServerSentEventReader.Event(name: nil, data: "[DONE]"),
        ])
        XCTAssertEqual(oneByOne.events, whole.events)
        XCTAssertFalse(whole.stopped)
    }

    func testAnEventWithoutItsBlankLineIsNotDispatched() {
        var reader = ServerSentEventReader()
        var count = 0
        _ = Data("data: half".utf8).withUnsafeBytes { reader.feed($0) { _ in count += 1; return true } }
        XCTAssertEqual(count, 0)
        XCTAssertTrue(reader.hasPartialEvent, "a cut stream shows as a partial event")
    }

    func testALineOverTheBoundStopsTheReader() {
        let long = Data(repeating: UInt8(ascii: "a"), count: ServerSentEventReader.maximumLineBytes + 1)
        let result = events([Data("data: ".utf8), long, Data("\n\n".utf8)])
        XCTAssertTrue(result.stopped)
        XCTAssertTrue(result.events.isEmpty)
    }
}

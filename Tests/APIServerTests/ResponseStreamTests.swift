@testable import APIServer
import Foundation
import Synchronization
import XCTest

/// A streamed body's unsent backlog is bounded: a client that stops reading is cut off instead
/// of making the server hold everything its writer produces, and a writer that can wait is told
/// when the client has caught up. Read directly, as MHD's reader callback reads it.
final class ResponseStreamTests: XCTestCase {
    /// Reads everything pending in `capacity`-byte reads, as MHD does; stops at 0 (nothing
    /// pending, no connection to suspend), end (-1) or abort (-2), which it returns.
    private func drain(_ stream: ResponseStream, capacity: Int = 1024, upTo limit: Int = .max) -> ([UInt8], Int) {
        var out: [UInt8] = []
        var buffer = [CChar](repeating: 0, count: capacity)
        while out.count < limit {
            let count = buffer.withUnsafeMutableBufferPointer { stream.read(into: $0.baseAddress!, capacity: min(capacity, limit - out.count)) }
            guard count > 0 else { return (out, count) }
            out += buffer[..<count].map { UInt8(bitPattern: $0) }
        }
        return (out, 1)
    }

    /// A stream's own ending at a server stop usually holds its owner (a chat answer), which holds
    /// the stream: closing the response lets go of it, or every streamed answer would stay in memory.
    func testClosingLetsGoOfTheServerStopAction() {
        final class Owner: Sendable {}
        weak var released: Owner?
        let stream = ResponseStream()
        do {
            let owner = Owner()
            released = owner
            stream.onServerStop { _ = owner }
        }
        XCTAssertNotNil(released, "held by the stream while it is open")
        stream.close()
        XCTAssertNil(released, "let go once the response is closed")
    }

    func testBytesComeOutInOrderAcrossManySmallReads() {
        let stream = ResponseStream(maximumPendingBytes: 1 << 20)
        let written = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        XCTAssertTrue(stream.write(written[..<200_000]))
        // Part read, then more written behind it: the bytes dropped in bulk must be the sent ones.
        let (first, _) = drain(stream, upTo: 150_000)
        XCTAssertTrue(stream.write(written[200_000...]))
        let (rest, end) = drain(stream)
        XCTAssertEqual(end, -1, "nothing pending and no connection: the end")
        XCTAssertEqual(first + rest, written)
        XCTAssertEqual(stream.unsentBytes, 0)
    }

    func testAWriteThatWouldPassTheBoundCutsTheClientOff() {
        let stream = ResponseStream(maximumPendingBytes: 10_000)
        XCTAssertTrue(stream.write([UInt8](repeating: 1, count: 6_000)))
        XCTAssertFalse(stream.write([UInt8](repeating: 2, count: 6_000)), "the backlog would be 12,000 bytes")
        XCTAssertTrue(stream.isClosed)
        XCTAssertFalse(stream.write([UInt8](repeating: 3, count: 1)), "nothing more is accepted")
        var buffer = [CChar](repeating: 0, count: 16)
        XCTAssertEqual(buffer.withUnsafeMutableBufferPointer { stream.read(into: $0.baseAddress!, capacity: 16) }, -2,
                       "the transport aborts the connection")
    }

    func testAClientThatKeepsUpIsNeverCutOff() {
        let stream = ResponseStream(maximumPendingBytes: 10_000)
        var total = 0
        for round in 0..<50 {
            XCTAssertTrue(stream.write([UInt8](repeating: UInt8(round), count: 6_000)), "round \(round)")
            total += drain(stream).0.count
        }
        XCTAssertEqual(total, 300_000)
    }

    func testAWaitingWriterIsToldOnceTheClientHasCaughtUp() {
        let stream = ResponseStream(maximumPendingBytes: 1 << 20)
        XCTAssertTrue(stream.write([UInt8](repeating: 7, count: 100_000)))
        let told = expectation(description: "drained")
        let count = Atomic(0)
        stream.whenDrained(below: 10_000) {
            count.add(1, ordering: .relaxed)
            told.fulfill()
        }
        _ = drain(stream, upTo: 80_000)
        XCTAssertEqual(count.load(ordering: .relaxed), 0, "20,000 bytes still unsent")
        _ = drain(stream, upTo: 15_000)
        wait(for: [told], timeout: 5)
        XCTAssertEqual(count.load(ordering: .relaxed), 1)
    }

    func testAWriterAlreadyCaughtUpIsToldAtOnce() {
        let stream = ResponseStream()
        let told = expectation(description: "drained")
        stream.whenDrained(below: 1) { told.fulfill() }
        wait(for: [told], timeout: 5)
    }
}

@testable import APIServer
import Foundation
import XCTest

final class RequestIDTests: XCTestCase {
    func testGeneratedIdsAreLowercaseVersion4UUIDs() throws {
        let generator = RequestIDGenerator()
        let pattern = try NSRegularExpression(pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        for _ in 0..<1_000 {
            let id = generator.next()
            XCTAssertEqual(pattern.numberOfMatches(in: id, range: NSRange(id.startIndex..., in: id)), 1, id)
            let uuid = try XCTUnwrap(UUID(uuidString: id))
            XCTAssertEqual(uuid.uuidString.lowercased(), id)
        }
    }

    func testGeneratedIdsDoNotRepeatAcrossThreads() {
        let generator = RequestIDGenerator()
        let perThread = 25_000
        let batches = Array(repeating: [String](), count: 4)
        let collected = ResultSlots(batches)
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            var ids: [String] = []
            ids.reserveCapacity(perThread)
            for _ in 0..<perThread { ids.append(generator.next()) }
            collected.set(index, ids)
        }
        let all = collected.value.flatMap { $0 }
        XCTAssertEqual(all.count, 4 * perThread)
        XCTAssertEqual(Set(all).count, all.count)
    }

    func testTwoGeneratorsStartFromDifferentKeys() {
        XCTAssertNotEqual(RequestIDGenerator().next(), RequestIDGenerator().next())
    }

    func testKnownBitsFormatInUUIDOrder() {
        XCTAssertEqual(RequestIDGenerator.format(0x0123_4567_89AB_4DEF, 0x8123_4567_89AB_CDEF),
                       "01234567-89ab-4def-8123-456789abcdef")
    }

    func testTimestampIsRFC3339UTCWithMilliseconds() {
        // 2026-11-25T09:05:07.042Z
        XCTAssertEqual(Timestamp.rfc3339(Date(timeIntervalSince1970: 1_795_597_507.042_5)), "2026-11-25T09:05:07.042Z")
        XCTAssertEqual(Timestamp.rfc3339(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00.000Z")
    }
}

/// Collects per-thread results; each index is written by exactly one thread.
private final class ResultSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var batches: [[String]]
    init(_ batches: [[String]]) { self.batches = batches }
    func set(_ index: Int, _ ids: [String]) { lock.withLock { batches[index] = ids } }
    var value: [[String]] { lock.withLock { batches } }
}

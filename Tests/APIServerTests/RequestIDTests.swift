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
        // Dates the format cannot write are held to its ends; converting them to milliseconds trapped.
        XCTAssertEqual(Timestamp.rfc3339(Date(timeIntervalSince1970: 9.3e15)), "9999-12-31T23:59:59.999Z")
        XCTAssertEqual(Timestamp.rfc3339(Date(timeIntervalSince1970: -1e300)), "0001-01-01T00:00:00.000Z")
        XCTAssertEqual(Timestamp.rfc3339(Date(timeIntervalSince1970: .nan)), "1970-01-01T00:00:00.000Z")
        let writer = JSONStreamWriter()
        writer.writeDate(Date(timeIntervalSince1970: .infinity))
        XCTAssertEqual(String(decoding: writer.bytes.array, as: UTF8.self), "\"9999-12-31T23:59:59.999Z\"")
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

final class TimestampTests: XCTestCase {
    func testCivilDatesAgreeWithGmtimeAcrossCenturiesAndLeapDays() {
        var generator = SystemRandomNumberGenerator()
        // 1600-01-01 to 2400-12-31 at random, plus the edges of leap days and of the epoch.
        var samples: [Int64] = (0..<20_000).map { _ in Int64.random(in: -11_676_096_000_000...13_601_174_400_000, using: &generator) }
        samples += [0, -1, 86_399_999, 86_400_000, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, -2_203_891_200_000]
        for milliseconds in samples {
            var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            let millisecond = ((milliseconds % 1000) + 1000) % 1000
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                                  Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(millisecond))
            var bytes: [UInt8] = []
            Timestamp.appendRFC3339(millisecondsSince1970: milliseconds, to: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), expected, "\(milliseconds)")
        }
    }
}

final class PeerAddressTests: XCTestCase {
    func testIPv4TextMatchesInetNtop() {
        var generator = SystemRandomNumberGenerator()
        let samples: [UInt32] = [0, 0xFFFF_FFFF, 0x7F00_0001, 0x0A00_6409, 0xC0A8_0A63, 0x0102_0304] + (0..<2_000).map { _ in generator.next() }
        for address in samples {
            var raw = in_addr(s_addr: address.bigEndian)
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            let expected = text.withUnsafeMutableBufferPointer { buffer in
                inet_ntop(AF_INET, &raw, buffer.baseAddress, socklen_t(buffer.count)).map { String(cString: $0) }
            }
            XCTAssertEqual(formatIPv4(address), expected)
        }
    }
}

@testable import APIServer
import Foundation
import XCTest

/// The writer's buffer against `[UInt8]` doing the same appends: any mix of sizes, from a small
/// start through many growths, with the tail dropped and written again as objects are reordered.
final class JSONBytesTests: XCTestCase {
    func testAppendsMatchAnArray() {
        var generator = SystemRandomNumberGenerator()
        for capacity in [0, 1, 64, 100, 4096] {
            let buffer = JSONBytes(capacity: capacity)
            var reference: [UInt8] = []
            for step in 0..<3000 {
                switch step % 5 {
                case 0:
                    let byte = UInt8.random(in: 0...255, using: &generator)
                    buffer.append(byte)
                    reference.append(byte)
                case 1:
                    let chunk = (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    chunk.withUnsafeBufferPointer { buffer.append(contentsOf: $0) }
                    reference.append(contentsOf: chunk)
                case 2:
                    let text = String(repeating: "ü✓x", count: Int.random(in: 0...20, using: &generator))
                    buffer.append(contentsOf: text.utf8)
                    reference.append(contentsOf: text.utf8)
                case 3:
                    // A sequence with no contiguous storage.
                    let bytes = (0..<Int.random(in: 0...10, using: &generator)).lazy.map { UInt8(truncatingIfNeeded: $0 &* 7) }
                    buffer.append(contentsOf: bytes)
                    reference.append(contentsOf: bytes)
                default:
                    let start = Int.random(in: max(0, reference.count - 50)...reference.count, using: &generator)
                    let tail = buffer.withBytes(from: start) { Array($0) }
                    XCTAssertEqual(tail, Array(reference[start...]))
                    buffer.removeLast(from: start)
                    reference.removeSubrange(start...)
                }
                XCTAssertEqual(buffer.count, reference.count)
            }
            XCTAssertEqual(buffer.array, reference)
            XCTAssertEqual(buffer.data, Data(reference))
            XCTAssertEqual(buffer.withBytes(from: reference.count + 10) { $0.count }, 0, "a start past the end gives nothing")
        }
    }
}

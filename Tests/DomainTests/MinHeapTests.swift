import Domain
import XCTest

final class MinHeapTests: XCTestCase {
    /// A fixed pseudo-random sequence with repeats, so the test is the same every run.
    private static let values: [Int] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<500).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 54)
        }
    }()

    private func drained(_ heap: inout MinHeap<Int>) -> [Int] {
        var out: [Int] = []
        while let value = heap.popMin() { out.append(value) }
        return out
    }

    func testPushedValuesComeOutSmallestFirst() {
        var heap = MinHeap<Int>()
        for value in Self.values { heap.push(value) }
        XCTAssertEqual(heap.count, Self.values.count)
        XCTAssertEqual(heap.first, Self.values.min())
        XCTAssertEqual(drained(&heap), Self.values.sorted())
        XCTAssertTrue(heap.isEmpty)
        XCTAssertNil(heap.popMin())
    }

    func testARebuiltHeapHoldsOnlyWhatWasFilledInAndOrdersIt() {
        var heap = MinHeap<Int>()
        for value in [7, 3, 9] { heap.push(value) }
        heap.rebuild { $0.append(contentsOf: Self.values) }
        XCTAssertEqual(drained(&heap), Self.values.sorted())
    }

    func testRemovingByAConditionKeepsTheRestInOrder() {
        var heap = MinHeap<Int>()
        for value in Self.values { heap.push(value) }
        heap.removeAll { $0 % 3 == 0 }
        XCTAssertEqual(drained(&heap), Self.values.filter { $0 % 3 != 0 }.sorted())
    }
}

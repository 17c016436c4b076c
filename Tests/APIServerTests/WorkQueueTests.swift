@testable import APIServer
import Foundation
import Synchronization
import XCTest

/// The provider work queue: a fixed number of threads, a bounded wait list, first in first out.
final class WorkQueueTests: XCTestCase {
    func testAdmitsThreadsPlusQueueLimitThenRefuses() throws {
        let queue = WorkQueue(name: "test", threads: 2, queueLimit: 3)
        let gate = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let order = Mutex<[Int]>([])
        for index in 0..<5 {
            let reservation = try XCTUnwrap(queue.reserve(), "job \(index) fits")
            reservation.run {
                gate.wait()
                order.withLock { $0.append(index) }
                finished.signal()
            }
        }
        XCTAssertNil(queue.reserve(), "two running and three waiting: full")
        XCTAssertTrue(eventually { queue.statistics.running == 2 })
        XCTAssertEqual(queue.statistics.waiting, 3)
        XCTAssertEqual(queue.statistics.refused, 1)

        for _ in 0..<5 { gate.signal() }
        for _ in 0..<5 { XCTAssertEqual(finished.wait(timeout: .now() + 5), .success) }
        XCTAssertEqual(order.withLock { Set($0) }, Set(0..<5))
        XCTAssertTrue(eventually { queue.statistics.running == 0 })
        XCTAssertNotNil(queue.reserve(), "room again once the jobs finished")
    }

    func testWaitingJobsRunInArrivalOrder() throws {
        let queue = WorkQueue(name: "test", threads: 1, queueLimit: 10)
        let gate = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let order = Mutex<[Int]>([])
        for index in 0..<6 {
            try XCTUnwrap(queue.reserve()).run {
                if index == 0 { gate.wait() }
                order.withLock { $0.append(index) }
                done.signal()
            }
        }
        gate.signal()
        for _ in 0..<6 { XCTAssertEqual(done.wait(timeout: .now() + 5), .success) }
        XCTAssertEqual(order.withLock { $0 }, [0, 1, 2, 3, 4, 5])
    }

    func testACancelledReservationGivesItsPlaceBack() throws {
        let queue = WorkQueue(name: "test", threads: 1, queueLimit: 0)
        let reservation = try XCTUnwrap(queue.reserve())
        XCTAssertNil(queue.reserve())
        reservation.cancel()
        XCTAssertNotNil(queue.reserve())
    }

    func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while !condition() {
            if Date() > deadline { return false }
            usleep(2_000)
        }
        return true
    }
}

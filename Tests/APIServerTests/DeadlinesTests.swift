@testable import APIServer
import Foundation
import Synchronization
import XCTest

/// `Deadlines`: the one thread that runs the awaited answers' deadlines and the steps' lease
/// heartbeats. Each test uses its own instance (its thread stays for the process, asleep).
final class DeadlinesTests: XCTestCase {
    func testADeadlineRunsItsActionNoSoonerThanItsTime() {
        let deadlines = Deadlines()
        let ran = expectation(description: "ran")
        // The monotonic clock Deadlines keeps (the wall clock may be slewed meanwhile).
        let scheduled = DispatchTime.now().uptimeNanoseconds
        let ranAfter = Mutex<UInt64?>(nil)
        deadlines.schedule(after: 0.2) {
            ranAfter.withLock { $0 = DispatchTime.now().uptimeNanoseconds - scheduled }
            ran.fulfill()
        }
        wait(for: [ran], timeout: 10)
        XCTAssertGreaterThanOrEqual(ranAfter.withLock { $0 } ?? 0, 200_000_000)
        XCTAssertEqual(deadlines.counts.pending, 0)
    }

    func testACancelledDeadlineNeverRuns() {
        let deadlines = Deadlines()
        let ran = Mutex(false)
        let token = deadlines.schedule(after: 0.1) { ran.withLock { $0 = true } }
        deadlines.cancel(token)
        deadlines.cancel(token)
        // A later deadline that does run shows the thread went past the cancelled one's time.
        let later = expectation(description: "later")
        deadlines.schedule(after: 0.3) { later.fulfill() }
        wait(for: [later], timeout: 10)
        XCTAssertFalse(ran.withLock { $0 })
    }

    func testDeadlinesRunInTheOrderOfTheirTimesNotOfScheduling() {
        let deadlines = Deadlines()
        let order = Mutex<[Int]>([])
        let all = expectation(description: "all")
        all.expectedFulfillmentCount = 3
        // Half a second apart: actions due in one pass may run side by side on Dispatch's workers.
        for (seconds, label) in [(1.25, 3), (0.25, 1), (0.75, 2)] {
            deadlines.schedule(after: seconds) {
                order.withLock { $0.append(label) }
                all.fulfill()
            }
        }
        wait(for: [all], timeout: 10)
        XCTAssertEqual(order.withLock { $0 }, [1, 2, 3])
    }

    /// The thread sleeps towards its planned wake-up (here 60 s away, its longest sleep): a sooner
    /// deadline scheduled meanwhile must wake it, or the action would wait for that wake-up.
    func testASoonerDeadlineWakesTheSleepingThread() {
        let deadlines = Deadlines(longestSleepSeconds: 60)
        deadlines.schedule(after: 3_000) {}
        Thread.sleep(forTimeInterval: 0.2)
        let ran = expectation(description: "sooner ran")
        deadlines.schedule(after: 0.05) { ran.fulfill() }
        wait(for: [ran], timeout: 20)
    }

    func testCancelledDeadlinesDoNotPileUpInTheHeap() {
        let deadlines = Deadlines()
        let tokens = (0..<1_000).map { _ in deadlines.schedule(after: 600) {} }
        XCTAssertEqual(deadlines.counts.queued, 1_000)
        tokens.forEach(deadlines.cancel)
        XCTAssertEqual(deadlines.counts.pending, 0)
        XCTAssertLessThanOrEqual(deadlines.counts.queued, 64, "the heap is rebuilt once cancelled entries outnumber live ones")
    }

    func testARepeatingDeadlineRepeatsUntilStopped() {
        let deadlines = Deadlines()
        let count = Mutex(0)
        let thrice = expectation(description: "three times")
        let repeating = RepeatingDeadline(every: 0.1, on: deadlines) {
            if count.withLock({ $0 += 1; return $0 }) == 3 { thrice.fulfill() }
        }
        wait(for: [thrice], timeout: 10)
        repeating.stop()
        let stoppedAt = count.withLock { $0 }
        Thread.sleep(forTimeInterval: 0.5)
        // One run may have been under way when stop came; none starts after it.
        XCTAssertLessThanOrEqual(count.withLock { $0 }, stoppedAt + 1)
        XCTAssertEqual(deadlines.counts.pending, 0)
    }
}

import Foundation
@testable import Persistence
import XCTest

/// A leader whose work nobody waits for (a settlement whose answer was sent) gathers company
/// before it runs: until enough are queued, one that may not wait joins, `hurry()` is called, or
/// its longest wait passes. Work that may not wait never gathers, and only one key gathers at a time.
final class GroupCommitGatheringTests: XCTestCase {
    private typealias Writer = GroupCommit<String, Int, Int>

    private func writer(longest: TimeInterval, enough: Int = 3, more: Int = 0, roomForMore: (@Sendable () -> Bool)? = nil) -> Writer {
        Writer(limit: 8, queueTimeout: 30, gathering: .init(longest: longest, enough: enough, more: more, roomForMore: roomForMore))
    }

    private func waitUntil(_ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(10)
        while !condition() && Date() < deadline { usleep(1_000) }
        XCTAssertTrue(condition(), "timed out", file: file, line: line)
    }

    /// Submits `item` on a thread of its own, recording the groups it runs in `groups`.
    private func submit(_ writer: Writer, _ item: Int, key: String = "p", mayGather: Bool, groups: LockedValue<[[Int]]>,
                        _ done: DispatchGroup) {
        done.enter()
        Thread {
            _ = try? writer.submit(item, key: key, mayGather: mayGather) { items in
                groups.mutate { $0.append(items) }
                return items.map { .success($0) }
            }
            done.leave()
        }.start()
    }

    /// A writer whose leader for `key` (item 1, which may wait) is gathering now, waiting up to 20 s.
    private func gatheringLeader(key: String = "p") -> (Writer, LockedValue<[[Int]]>, DispatchGroup) {
        let writer = writer(longest: 20)
        let groups = LockedValue<[[Int]]>([])
        let done = DispatchGroup()
        submit(writer, 1, key: key, mayGather: true, groups: groups, done)
        waitUntil { writer.isGathering(key) }
        return (writer, groups, done)
    }

    func testALeaderThatMayWaitRunsWithTheOnesArrivingWhileItGathers() {
        let writer = writer(longest: 20)
        let groups = LockedValue<[[Int]]>([])
        let done = DispatchGroup()
        let started = Date()
        submit(writer, 1, mayGather: true, groups: groups, done)
        waitUntil { writer.isGathering("p") }
        submit(writer, 2, mayGather: true, groups: groups, done)
        waitUntil { writer.waitingCount("p") == 1 }
        XCTAssertEqual(groups.value, [], "two of the three it gathers for: still waiting")
        submit(writer, 3, mayGather: true, groups: groups, done)
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(groups.value.map { Set($0) }, [[1, 2, 3]], "one group, run once enough were queued")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "not after its longest wait")
    }

    func testWorkThatMayNotWaitNeverGathers() throws {
        let writer = writer(longest: 20)
        let started = Date()
        XCTAssertEqual(try writer.submit(7, key: "p") { $0.map { .success($0) } }, 7)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertFalse(writer.isGathering("p"))
    }

    func testALoneLeaderRunsAloneOnceItsLongestWaitHasPassed() throws {
        let writer = writer(longest: 0.3)
        let started = Date()
        XCTAssertEqual(try writer.submit(1, key: "p", mayGather: true) { $0.map { .success($0) } }, 1)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.29, "it waited for company first")
    }

    func testARequestThatMayNotWaitEndsTheGatheringAndRunsWithIt() {
        let (writer, groups, done) = gatheringLeader()
        submit(writer, 2, mayGather: false, groups: groups, done)
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "the one that may not wait did not wait for the gathering")
        XCTAssertEqual(groups.value.map { Set($0) }, [[1, 2]])
    }

    func testHurryEndsTheGathering() {
        let (writer, groups, done) = gatheringLeader()
        writer.hurry()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(groups.value, [[1]])
    }

    func testAHurryAlsoKeepsAGatheringFromStartingForItsLongestWait() throws {
        // The settlement a read waits for may reach the writer just after the read's hurry.
        let writer = writer(longest: 20)
        writer.hurry()
        let started = Date()
        XCTAssertEqual(try writer.submit(1, key: "p", mayGather: true) { $0.map { .success($0) } }, 1)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "it ran at once")
    }

    func testOnlyOneKeyGathersAtATime() throws {
        let (writer, groups, done) = gatheringLeader(key: "a")
        let started = Date()
        XCTAssertEqual(try writer.submit(2, key: "b", mayGather: true) { $0.map { .success($0) } }, 2)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "key b ran at once while key a gathered")
        XCTAssertFalse(writer.isGathering("b"))
        writer.hurry()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(groups.value, [[1]])
    }

    func testWithRoomForMoreALeaderGathersPastEnoughUpToMore() {
        let writer = writer(longest: 20, enough: 2, more: 4, roomForMore: { true })
        let groups = LockedValue<[[Int]]>([])
        let done = DispatchGroup()
        submit(writer, 1, mayGather: true, groups: groups, done)
        waitUntil { writer.isGathering("p") }
        submit(writer, 2, mayGather: true, groups: groups, done)
        waitUntil { writer.waitingCount("p") == 1 }
        submit(writer, 3, mayGather: true, groups: groups, done)
        waitUntil { writer.waitingCount("p") == 2 }
        XCTAssertEqual(groups.value, [], "three queued, past enough: still gathering while there is room")
        XCTAssertTrue(writer.isGathering("p"))
        submit(writer, 4, mayGather: true, groups: groups, done)
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(groups.value.map { Set($0) }, [[1, 2, 3, 4]], "one group, run once `more` were queued")
    }

    func testWithoutRoomForMoreALeaderStopsAtEnough() {
        let room = LockedValue(true)
        let writer = writer(longest: 20, enough: 2, more: 4, roomForMore: { room.value })
        let groups = LockedValue<[[Int]]>([])
        let done = DispatchGroup()
        submit(writer, 1, mayGather: true, groups: groups, done)
        waitUntil { writer.isGathering("p") }
        room.mutate { $0 = false }
        submit(writer, 2, mayGather: true, groups: groups, done)
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "enough were queued and the threads are missed: it ran")
        XCTAssertEqual(groups.value.map { Set($0) }, [[1, 2]])
    }
}

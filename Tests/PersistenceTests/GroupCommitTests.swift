import Foundation
@testable import Persistence
import XCTest

/// The writer that runs one key's requests in groups: a lone request runs at once, those arriving
/// during a run share the next, keys do not wait for each other, and each request gets its own answer.
final class GroupCommitTests: XCTestCase {
    private func waitUntil(_ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(10)
        while !condition() && Date() < deadline { usleep(1_000) }
        XCTAssertTrue(condition(), "timed out", file: file, line: line)
    }

    /// A thread of its own, so every request waits at once whatever the number of cores.
    private func spawn(_ group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
        group.enter()
        Thread {
            body()
            group.leave()
        }.start()
    }

    func testALoneRequestRunsAtOnceAsAGroupOfOne() throws {
        let writer = GroupCommit<String, Int, Int>(limit: 8, queueTimeout: 30)
        var groups: [[Int]] = []
        let answer = try writer.submit(7, key: "p") { items in
            groups.append(items)
            return items.map { .success($0 * 10) }
        }
        XCTAssertEqual(answer, 70)
        XCTAssertEqual(groups, [[7]])
        XCTAssertEqual(writer.largestGroup, 1)
    }

    func testRequestsArrivingDuringARunShareTheNextGroupAndEachGetsItsOwnAnswer() throws {
        let writer = GroupCommit<String, Int, Int>(limit: 8, queueTimeout: 30)
        let gate = DispatchSemaphore(value: 0)
        let groups = LockedValue<[[Int]]>([])
        let answers = LockedValue<[Int: Int]>([:])
        let run: @Sendable ([Int]) -> [Result<Int, any Error>] = { items in
            groups.mutate { $0.append(items) }
            if items == [1] { gate.wait() }
            return items.map { .success($0 * 10) }
        }
        let done = DispatchGroup()
        spawn(done) {
            if let answer = try? writer.submit(1, key: "p", run: run) { answers.mutate { $0[1] = answer } }
        }
        waitUntil { groups.value == [[1]] }
        for item in 2...4 {
            spawn(done) {
                if let answer = try? writer.submit(item, key: "p", run: run) { answers.mutate { $0[item] = answer } }
            }
        }
        waitUntil { writer.waitingCount("p") == 3 }
        gate.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(groups.value.count, 2)
        XCTAssertEqual(groups.value.first, [1])
        XCTAssertEqual(groups.value.last.map { Set($0) }, [2, 3, 4], "the three that waited ran as one group")
        XCTAssertEqual(answers.value, [1: 10, 2: 20, 3: 30, 4: 40])
        XCTAssertEqual(writer.largestGroup, 3)
    }

    /// Each request sleeps until its own request is answered or made the writer (not on one condition
    /// every waiting thread wakes for). Under many threads on three keys no wake-up may be lost (the
    /// queue timeout is far off, so a request left asleep hangs the test): every request ends with its
    /// own answer, a key never runs two groups at once and no group passes the limit.
    func testManyThreadsOnThreeKeysAllEndWithTheirOwnAnswersOneGroupPerKeyAtATime() throws {
        let writer = GroupCommit<Int, Int, Int>(limit: 5, queueTimeout: 300)
        let running = LockedValue<[Int: Int]>([:])
        let overlaps = LockedValue(0)
        let oversized = LockedValue(0)
        let wrong = LockedValue(0)
        let ended = LockedValue(0)
        let done = DispatchGroup()
        let threads = 48, rounds = 40
        for thread in 0..<threads {
            spawn(done) {
                for round in 0..<rounds {
                    let key = (thread + round) % 3, item = thread * 1_000 + round
                    do {
                        let answer = try writer.submit(item, key: key) { items in
                            running.mutate { $0[key, default: 0] += 1 }
                            if running.value[key, default: 0] > 1 { overlaps.mutate { $0 += 1 } }
                            if items.count > 5 { oversized.mutate { $0 += 1 } }
                            // Long enough that requests queue behind a run.
                            usleep(UInt32(items.count) * 500)
                            running.mutate { $0[key, default: 0] -= 1 }
                            return items.map { .success($0 + 1) }
                        }
                        if answer != item + 1 { wrong.mutate { $0 += 1 } }
                    } catch {
                        wrong.mutate { $0 += 1 }
                    }
                    ended.mutate { $0 += 1 }
                }
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "a request never ended: a lost wake-up")
        XCTAssertEqual(ended.value, threads * rounds)
        XCTAssertEqual(wrong.value, 0)
        XCTAssertEqual(overlaps.value, 0)
        XCTAssertEqual(oversized.value, 0)
        XCTAssertGreaterThan(writer.largestGroup, 1, "requests queued and ran together")
    }

    func testTheLimitCapsAGroupAndTheRestRunNext() throws {
        let writer = GroupCommit<String, Int, Int>(limit: 2, queueTimeout: 30)
        let gate = DispatchSemaphore(value: 0)
        let groups = LockedValue<[[Int]]>([])
        let run: @Sendable ([Int]) -> [Result<Int, any Error>] = { items in
            groups.mutate { $0.append(items) }
            if items == [0] { gate.wait() }
            return items.map { .success($0) }
        }
        let done = DispatchGroup()
        spawn(done) { _ = try? writer.submit(0, key: "p", run: run) }
        waitUntil { groups.value == [[0]] }
        for item in 1...5 {
            spawn(done) { _ = try? writer.submit(item, key: "p", run: run) }
        }
        waitUntil { writer.waitingCount("p") == 5 }
        gate.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(groups.value.map(\.count), [1, 2, 2, 1])
        XCTAssertEqual(Set(groups.value.joined()), Set(0...5))
        XCTAssertEqual(writer.largestGroup, 2)
    }

    func testAnotherKeyRunsWhileOneKeysGroupIsRunning() throws {
        let writer = GroupCommit<String, Int, Int>(limit: 8, queueTimeout: 30)
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        spawn(done) {
            _ = try? writer.submit(1, key: "a") { items in
                started.signal()
                gate.wait()
                return items.map { .success($0) }
            }
        }
        XCTAssertEqual(started.wait(timeout: .now() + 10), .success)
        let other = try writer.submit(2, key: "b") { items in items.map { .success($0 + 100) } }
        XCTAssertEqual(other, 102, "key b ran while key a's group was still running")
        gate.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
    }

    func testARequestStillQueuedAfterTheQueueTimeoutGivesUpAndIsNeverRun() throws {
        let writer = GroupCommit<String, Int, Int>(limit: 8, queueTimeout: 0.2)
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let groups = LockedValue<[[Int]]>([])
        let run: @Sendable ([Int]) -> [Result<Int, any Error>] = { items in
            groups.mutate { $0.append(items) }
            if items == [1] {
                started.signal()
                gate.wait()
            }
            return items.map { .success($0) }
        }
        let done = DispatchGroup()
        spawn(done) { _ = try? writer.submit(1, key: "p", run: run) }
        XCTAssertEqual(started.wait(timeout: .now() + 10), .success)
        XCTAssertThrowsError(try writer.submit(2, key: "p", run: run)) {
            XCTAssertEqual(($0 as? DatabaseError)?.step, .acquire, "answered as a pool timeout")
        }
        XCTAssertEqual(writer.waitingCount("p"), 0, "it left the queue")
        gate.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(groups.value, [[1]], "the request that gave up was never run")
        XCTAssertEqual(try writer.submit(3, key: "p", run: run), 3, "the key is free again")
    }

    func testAFailureOrAMissingAnswerIsThatRequestsOnly() throws {
        struct Refused: Error {}
        let writer = GroupCommit<String, Int, Int>(limit: 8, queueTimeout: 30)
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let secondGroup = LockedValue<[Int]>([])
        let outcomes = LockedValue<[Int: String]>([:])
        let run: @Sendable ([Int]) -> [Result<Int, any Error>] = { items in
            if items == [0] {
                started.signal()
                gate.wait()
                return [.success(0)]
            }
            secondGroup.mutate { $0 = items }
            // Item 2 fails; the last to arrive is left unanswered.
            return items.dropLast().map { $0 == 2 ? .failure(Refused()) : .success($0) }
        }
        let submit: @Sendable (Int) -> Void = { item in
            do {
                let answer = try writer.submit(item, key: "p", run: run)
                outcomes.mutate { $0[item] = "ok \(answer)" }
            } catch {
                outcomes.mutate { $0[item] = error is Refused ? "refused" : "\(error)" }
            }
        }
        let done = DispatchGroup()
        spawn(done) { submit(0) }
        XCTAssertEqual(started.wait(timeout: .now() + 10), .success)
        for item in 1...3 {
            spawn(done) { submit(item) }
        }
        waitUntil { writer.waitingCount("p") == 3 }
        gate.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        let arrival = secondGroup.value
        XCTAssertEqual(Set(arrival), [1, 2, 3])
        var expected: [Int: String] = [0: "ok 0"]
        for item in arrival.dropLast() { expected[item] = item == 2 ? "refused" : "ok \(item)" }
        if let last = arrival.last { expected[last] = "unanswered" }
        XCTAssertEqual(outcomes.value, expected)
    }
}

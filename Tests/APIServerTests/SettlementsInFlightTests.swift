@testable import APIServer
import Foundation
import XCTest

/// The per-user barrier behind early chat answers: a read waits for the settlements in flight
/// when it arrives, not for later ones, not for another user's, and never past its bound.
final class SettlementsInFlightTests: XCTestCase {
    private let alice = UUID()
    private let bob = UUID()

    func testAReadWithNothingInFlightDoesNotWait() {
        let settlements = SettlementsInFlight()
        settlements.begin(UUID(), user: bob)
        let started = Date()
        XCTAssertTrue(settlements.waitForSettlements(of: alice, longestWait: 5))
        XCTAssertLessThan(Date().timeIntervalSince(started), 1, "another user's settlement is not waited for")
    }

    func testAReadThatMustWaitHurriesTheSettlementsHeldBackAndOneThatNeedNotDoesNot() {
        let hurried = Mutex2(0)
        let settlements = SettlementsInFlight(hurry: { hurried.mutate { $0 += 1 } })
        let first = UUID()
        settlements.begin(first, user: alice)
        XCTAssertTrue(settlements.waitForSettlements(of: bob, longestWait: 5))
        XCTAssertEqual(hurried.value, 0, "nothing of bob's is in flight: nothing to hurry")
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { [alice] in settlements.end(first, user: alice) }
        XCTAssertTrue(settlements.waitForSettlements(of: alice, longestWait: 5))
        XCTAssertEqual(hurried.value, 1, "alice's read asked for her settlement to be written now")
    }

    func testAReadWaitsUntilTheSettlementsInFlightWhenItArrivedAreWritten() {
        let settlements = SettlementsInFlight()
        let first = UUID()
        settlements.begin(first, user: alice)
        let ended = Date().addingTimeInterval(0.3)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { [alice] in settlements.end(first, user: alice) }
        XCTAssertTrue(settlements.waitForSettlements(of: alice, longestWait: 5))
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(ended), -0.05, "returned only once the settlement ended")
        XCTAssertEqual(settlements.count, 0)
    }

    func testSettlementsBegunAfterTheReadArrivedAreNotWaitedFor() {
        let settlements = SettlementsInFlight()
        let first = UUID()
        let later = UUID()
        settlements.begin(first, user: alice)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { [alice] in
            settlements.begin(later, user: alice)
            settlements.end(first, user: alice)
        }
        let started = Date()
        XCTAssertTrue(settlements.waitForSettlements(of: alice, longestWait: 5), "the later one does not hold the read")
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
        XCTAssertEqual(settlements.count, 1)
    }

    func testAReadGoesAheadAfterTheLongestWait() {
        let settlements = SettlementsInFlight()
        settlements.begin(UUID(), user: alice)
        let started = Date()
        XCTAssertFalse(settlements.waitForSettlements(of: alice, longestWait: 0.2))
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.19)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
    }

    func testEndingAnUnknownOrAlreadyEndedSettlementChangesNothing() {
        let settlements = SettlementsInFlight()
        let id = UUID()
        settlements.begin(id, user: alice)
        settlements.end(UUID(), user: alice)
        XCTAssertEqual(settlements.count, 1)
        settlements.end(id, user: alice)
        settlements.end(id, user: alice)
        XCTAssertEqual(settlements.count, 0)
        XCTAssertTrue(settlements.waitForSettlements(of: alice, longestWait: 0.1))
    }
}

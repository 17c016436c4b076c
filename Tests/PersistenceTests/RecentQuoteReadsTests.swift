import Domain
import Foundation
@testable import Persistence
import XCTest

/// `RecentQuoteReads` alone: what it keeps, for how long, what forgets it, and its bound.
final class RecentQuoteReadsTests: XCTestCase {
    private let start = Date(timeIntervalSince1970: 1_764_547_200)

    private func reads(project: Bool = true, session: SessionState? = nil) -> QuoteReads {
        let budget = BudgetSummary(limit: nil, period: .monthly, spent: .zero, reserved: .zero, periodStart: start)
        let found = project ? Project(id: UUID(), name: "P", description: nil, archivedAt: nil, createdAt: start, updatedAt: start,
                                      version: 1, budget: budget) : nil
        return QuoteReads(project: found, pricingVersionID: "v1",
                          routing: RoutingReads(configs: [], health: [:], usableKeys: [], buckets: [:], providerBudgetRemaining: [:]),
                          session: session)
    }

    private func key(checksSession: Bool = false) -> SharedQuoteReadKey {
        SharedQuoteReadKey(projectID: UUID(), claimsJSON: #"{"sub":"u"}"#, checksSession: checksSession)
    }

    /// Reads through `recent`, counting how many times it read.
    private final class Counter: @unchecked Sendable { var reads = 0 }

    func testAReadIsReusedWithinItsAgeAndReadAgainAfterIt() throws {
        let recent = RecentQuoteReads(maximumAgeMilliseconds: 300)
        let counter = Counter()
        let key = key()
        let read = { counter.reads += 1; return self.reads() }
        XCTAssertFalse(try recent.reads(for: key, read: read).reused)
        let second = try recent.reads(for: key, read: read)
        XCTAssertTrue(second.reused)
        XCTAssertEqual(counter.reads, 1)
        Thread.sleep(forTimeInterval: 0.4)
        XCTAssertFalse(try recent.reads(for: key, read: read).reused, "too old: read again")
        XCTAssertEqual(counter.reads, 2)
    }

    func testARenewReadsAgainAndKeepsTheNewRead() throws {
        let recent = RecentQuoteReads(maximumAgeMilliseconds: 5_000)
        let counter = Counter()
        let key = key()
        let read = { counter.reads += 1; return self.reads() }
        _ = try recent.reads(for: key, read: read)
        XCTAssertFalse(try recent.reads(for: key, renew: true, read: read).reused)
        XCTAssertTrue(try recent.reads(for: key, read: read).reused)
        XCTAssertEqual(counter.reads, 2)
    }

    func testReadsThatRefuseAreNeverKept() throws {
        let recent = RecentQuoteReads(maximumAgeMilliseconds: 5_000)
        let noProject = key()
        _ = try recent.reads(for: noProject) { self.reads(project: false) }
        let noSession = key(checksSession: true)
        _ = try recent.reads(for: noSession) { self.reads(session: nil) }
        let expired = key(checksSession: true)
        _ = try recent.reads(for: expired) {
            self.reads(session: SessionState(notAfter: Date(timeIntervalSinceNow: -1), bannedUntil: nil, userDeleted: false))
        }
        XCTAssertEqual(recent.count, 0)
        let live = key(checksSession: true)
        _ = try recent.reads(for: live) { self.reads(session: SessionState(notAfter: nil, bannedUntil: nil, userDeleted: false)) }
        XCTAssertEqual(recent.count, 1, "a live session's read is kept")
        // A fresh read that refuses drops the kept one for its key.
        _ = try recent.reads(for: live, renew: true) { self.reads(session: nil) }
        XCTAssertEqual(recent.count, 0)
    }

    func testForgetAllDropsTheKeptReadsAndTheReadInFlight() throws {
        let recent = RecentQuoteReads(maximumAgeMilliseconds: 5_000)
        _ = try recent.reads(for: key()) { self.reads() }
        XCTAssertEqual(recent.count, 1)
        recent.forgetAll()
        XCTAssertEqual(recent.count, 0)
        // A write that lands while a read is in flight: that read may predate it, so it is not kept.
        let counter = Counter()
        let key = key()
        _ = try recent.reads(for: key) { recent.forgetAll(); counter.reads += 1; return self.reads() }
        XCTAssertEqual(recent.count, 0)
        XCTAssertFalse(try recent.reads(for: key) { counter.reads += 1; return self.reads() }.reused)
        XCTAssertEqual(counter.reads, 2)
    }

    func testKeptReadsAreBounded() throws {
        let recent = RecentQuoteReads(maximumAgeMilliseconds: 10_000)
        for _ in 0..<(RecentQuoteReads.capacity + 10) {
            _ = try recent.reads(for: key()) { self.reads() }
        }
        XCTAssertGreaterThan(recent.count, 0)
        XCTAssertLessThanOrEqual(recent.count, RecentQuoteReads.capacity)
    }

    func testTheAgeIsBoundedAndZeroKeepsNothing() throws {
        XCTAssertEqual(RecentQuoteReads(maximumAgeMilliseconds: 99_999).maximumAgeMilliseconds, RecentQuoteReads.maximumAgeLimitMilliseconds)
        let off = RecentQuoteReads(maximumAgeMilliseconds: -5)
        XCTAssertFalse(off.isEnabled)
        _ = try off.reads(for: key()) { self.reads() }
        XCTAssertEqual(off.count, 0)
    }
}

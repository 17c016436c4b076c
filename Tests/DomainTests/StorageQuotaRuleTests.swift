import Domain
import XCTest

/// `StorageQuota.check`: an addition fits when it ends at the quota or below; with nothing to add,
/// the quota must not be reached yet; without a quota everything fits.
final class StorageQuotaRuleTests: XCTestCase {
    func testAnAdditionFitsUpToTheQuotaExactly() throws {
        let quota = StorageQuota(bytes: 100)
        XCTAssertNoThrow(try quota.check(used: 60, adding: 40))
        XCTAssertThrowsError(try quota.check(used: 60, adding: 41)) { error in
            XCTAssertEqual(error as? StorageQuotaExceeded, StorageQuotaExceeded(used: 60, quota: 100, adding: 41))
        }
        XCTAssertEqual(quota.room(used: 60), 40)
    }

    func testNothingMoreFitsOnceTheQuotaIsReachedOrPassed() throws {
        let quota = StorageQuota(bytes: 100)
        XCTAssertNoThrow(try quota.check(used: 99))
        XCTAssertThrowsError(try quota.check(used: 100)) { error in
            XCTAssertEqual(error as? StorageQuotaExceeded, StorageQuotaExceeded(used: 100, quota: 100, adding: nil))
        }
        XCTAssertThrowsError(try quota.check(used: 250, adding: 1))
        XCTAssertEqual(quota.room(used: 250), 0, "passed by outputs in flight: no room, never negative")
    }

    func testWithoutAQuotaEverythingFits() throws {
        XCTAssertNoThrow(try StorageQuota.none.check(used: .max, adding: .max))
        XCTAssertNil(StorageQuota.none.room(used: 5))
    }
}

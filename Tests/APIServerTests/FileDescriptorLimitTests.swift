@testable import APIServer
import Foundation
import XCTest

/// Thousands of provider transfers in flight need as many descriptors: start-up lifts the soft
/// open-file limit to the hard one.
final class FileDescriptorLimitTests: XCTestCase {
    func testTheSoftLimitIsRaisedToTheHardLimit() throws {
        var original = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &original), 0)
        defer { _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &original) }
        var lowered = original
        lowered.rlim_cur = min(original.rlim_max, 256)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered), 0)

        let now = FileDescriptorLimit.raiseToHard()
        XCTAssertEqual(now, UInt64(original.rlim_max))
        var after = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &after), 0)
        XCTAssertEqual(after.rlim_cur, original.rlim_max)
    }
}

import XCTest
final class PersistenceTestsSmoke: XCTestCase { func testTargetBuilds() { XCTAssertTrue(true) } }

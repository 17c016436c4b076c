import XCTest
final class APIServerTestsSmoke: XCTestCase { func testTargetBuilds() { XCTAssertTrue(true) } }

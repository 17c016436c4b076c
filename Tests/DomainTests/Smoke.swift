import XCTest
final class DomainTestsSmoke: XCTestCase { func testTargetBuilds() { XCTAssertTrue(true) } }

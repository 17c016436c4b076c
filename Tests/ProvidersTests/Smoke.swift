import XCTest
final class ProvidersTestsSmoke: XCTestCase { func testTargetBuilds() { XCTAssertTrue(true) } }

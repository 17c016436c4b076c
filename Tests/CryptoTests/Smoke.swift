import XCTest
final class CryptoTestsSmoke: XCTestCase { func testTargetBuilds() { XCTAssertTrue(true) } }

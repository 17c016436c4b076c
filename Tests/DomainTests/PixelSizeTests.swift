import Domain
import XCTest

final class PixelSizeTests: XCTestCase {
    func testReadsBothSidesWithEitherSeparatorCase() {
        XCTAssertEqual(PixelSize.parse("1024x1536", maximumSide: 16_384).map { [$0.width, $0.height] }, [1024, 1536])
        XCTAssertEqual(PixelSize.parse("512X768", maximumSide: 16_384).map { [$0.width, $0.height] }, [512, 768])
    }

    func testRefusesWhatIntWouldLeniantlyAccept() {
        for text in ["+5x5", "-5x5", " 5x5", "5x5 ", "5x", "x5", "5x5x5", "0x5", "5x0", "", "x", "1e3x5", "５x5"] {
            XCTAssertNil(PixelSize.parse(text, maximumSide: 16_384), text)
        }
    }

    func testBoundsEachSideBeforeAnyArithmetic() {
        XCTAssertNotNil(PixelSize.parse("16384x16384", maximumSide: 16_384))
        XCTAssertNil(PixelSize.parse("16385x1", maximumSide: 16_384))
        XCTAssertNil(PixelSize.parse("9999999999x9999999999", maximumSide: 16_384))
    }
}

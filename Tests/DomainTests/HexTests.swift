import Domain
import XCTest

final class HexTests: XCTestCase {
    func testEveryByteIsTwoLowercaseDigitsInOrder() {
        XCTAssertEqual(Hex.encode([0x00, 0x0F, 0xF0, 0xFF, 0x7A]), "000ff0ff7a")
        XCTAssertEqual(Hex.encode([UInt8]()), "")
        let all = Hex.encode((0...255).map { UInt8($0) })
        XCTAssertEqual(all.count, 512)
        XCTAssertEqual(all.suffix(4), "feff")
    }
}

import Domain
import Foundation
import XCTest

final class UUIDTextTests: XCTestCase {
    func testLowercasedStringIsFoundationsTextLowercased() {
        let ids = [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
                   UUID(uuid: (0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)),
                   UUID(uuid: (0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10))]
            + (0..<200).map { _ in UUID() }
        XCTAssertEqual(ids.map(\.lowercasedString), ids.map { $0.uuidString.lowercased() })
        XCTAssertEqual(ids[2].lowercasedString, "01234567-89ab-cdef-fedc-ba9876543210")
    }
}

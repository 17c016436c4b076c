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

    /// The canonical text reads, in either case, as Foundation reads it; anything else is refused,
    /// including what Foundation's `sscanf` lets through (a blank or a sign before a pair of digits).
    func testCanonicalTextReadsAsFoundationReadsIt() {
        let ids = [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
                   UUID(uuid: (0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF))]
            + (0..<200).map { _ in UUID() }
        XCTAssertEqual(ids.map { UUID(canonicalText: $0.uuidString) }, ids)
        XCTAssertEqual(ids.map { UUID(canonicalText: $0.lowercasedString) }, ids)
        XCTAssertEqual(UUID(canonicalText: "01234567-89AB-cdef-FEDC-ba9876543210"), UUID(uuidString: "01234567-89ab-cdef-fedc-ba9876543210"))
        let good = "0b6f1f3e-1d7a-4c1e-9a51-7f1b2c3d4e5f"
        XCTAssertNotNil(UUID(uuidString: good.replacingOccurrences(of: "-4c", with: "- c")), "Foundation's leniency, which this reader refuses")
        let damaged: [String] = ["5g", "5/", "5:", "5@", "5`", "5G"].map { good.replacingOccurrences(of: "5f", with: $0) }
        let misshapen: [String] = ["", String(good.dropLast()), good + "0", good.replacingOccurrences(of: "-", with: ""),
                                   "0b6f1f3e1-d7a-4c1e-9a51-7f1b2c3d4e5f", "{" + good.dropFirst(2) + "}",
                                   good.replacingOccurrences(of: "-4c", with: "- c"), good.replacingOccurrences(of: "-4c", with: "-+c")]
        for bad in misshapen + damaged {
            XCTAssertNil(UUID(canonicalText: bad), bad)
            // A request's id keeps Foundation's reading: what it refuses stays refused, what it takes is taken.
            XCTAssertEqual(UUID(readingText: bad), UUID(uuidString: bad), bad)
        }
        XCTAssertNotNil(UUID(readingText: good.replacingOccurrences(of: "-4c", with: "- c")))
        XCTAssertEqual(ids.map { UUID(readingText: $0.uuidString) }, ids)
    }
}

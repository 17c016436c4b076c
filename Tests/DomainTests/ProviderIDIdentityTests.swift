import Domain
import XCTest

final class ProviderIDIdentityTests: XCTestCase {
    /// `ProviderID` compares and hashes by its case, not its raw text: each case equals itself
    /// only, and equal cases hash alike, so sets and dictionaries keyed by provider hold one entry
    /// per provider.
    func testEachProviderEqualsItselfOnlyAndHashesAsItself() {
        let cases = ProviderID.allCases
        XCTAssertEqual(cases.count, 8)
        for (i, a) in cases.enumerated() {
            for (j, b) in cases.enumerated() {
                XCTAssertEqual(a == b, i == j, "\(a) and \(b)")
            }
            XCTAssertEqual(ProviderID(rawValue: a.rawValue).map { $0.hashValue }, a.hashValue)
        }
        XCTAssertEqual(Set(cases).count, cases.count)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: cases.map { ($0, $0.rawValue) }).count, cases.count)
        XCTAssertEqual(Set(cases + cases).count, cases.count)
    }
}

@testable import APIServer
import Foundation
import XCTest

/// The configuration's trim is Foundation's `trimmingCharacters(in: .whitespaces)`, byte for byte.
final class WhitespaceTrimmingTests: XCTestCase {
    func testEveryBMPScalarIsTrimmedAsFoundationTrimsIt() {
        var differences: [String] = []
        for value in UInt32(0)...0xFFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = "\(scalar)a\(scalar) b\(scalar)"
            if text.trimmingWhitespaces != text.trimmingCharacters(in: .whitespaces) { differences.append(String(value, radix: 16)) }
        }
        XCTAssertEqual(differences, [])
    }

    func testSequencesAreTrimmedAsFoundationTrimsThem() {
        let texts = ["", " ", "\t \u{3000}", "  value\t", "\u{A0}x\u{202F}", "e\u{301} ", " \u{301}x", "\n value \n", "a b", "👩‍👩‍👧 \u{2009}"]
        XCTAssertEqual(texts.map(\.trimmingWhitespaces), texts.map { $0.trimmingCharacters(in: .whitespaces) })
        XCTAssertEqual(Substring("  in a substring ").trimmingWhitespaces, "in a substring")
    }
}

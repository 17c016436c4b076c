import Domain
import Foundation
import XCTest

/// The cursor token is base64url of the cursor's JSON; the one-pass conversion must give exactly the
/// text the three `replacingOccurrences` gave, so cursors issued before and after read the same.
final class ProjectCursorTokenTests: XCTestCase {
    private func reference(_ cursor: ProjectCursor) throws -> String {
        struct Wire: Encodable { let s: String, k: String, i: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(Wire(s: cursor.sort.rawValue, k: cursor.key, i: cursor.id.uuidString.lowercased()))
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    func testTokenIsBase64URLOfTheSameJSON() throws {
        var generator = SystemRandomNumberGenerator()
        let keys = ["", "a", "ab", "abc", "1764600000123456", "ünïcode “quoted” \\ / ?>?>~~~", "\u{7F}\u{FF}\u{3FFF}",
                    "controls \u{01}\u{1F}\n\r\t\u{08}\u{0C} and a / slash", "\u{2028}\u{2029}"]
            + (0..<200).map { _ in String((0..<Int.random(in: 0...40, using: &generator)).map { _ in Character(Unicode.Scalar(UInt8.random(in: 32...126, using: &generator))) }) }
        var sawURLAlphabet = false
        for key in keys {
            for sort in ProjectSort.allCases {
                let cursor = ProjectCursor(sort: sort, key: key, id: UUID())
                XCTAssertEqual(cursor.token, try reference(cursor))
                if cursor.token.contains("-") || cursor.token.contains("_") { sawURLAlphabet = true }
            }
        }
        XCTAssertTrue(sawURLAlphabet, "some token needed the URL alphabet")
    }
}

import Domain
import Foundation
import XCTest

final class TextTrimmingTests: XCTestCase {
    /// Whitespace of every kind the sets hold (ASCII, no-break, ideographic, line and paragraph
    /// separators), a zero-width space (whitespace or not as Foundation decides), a scalar beyond the BMP,
    /// a combining mark, and text.
    private static let pieces: [String] = [" ", "\t", "\n", "\r", "\u{A0}", "\u{2003}", "\u{3000}", "\u{2028}", "\u{85}",
                                           "\u{200B}", "\u{1F600}", "a", "é", "e\u{301}", "\u{301}", ";", "json"]

    func testTrimmingAndTheEmptinessCheckAnswerAsFoundationDoes() {
        var generator = SeededGenerator(seed: 0x7e47_7215)
        var texts = ["", " ", "a", " a ", "\u{A0}\u{1F600}\u{A0}"]
        for _ in 0..<5000 {
            texts.append((0..<Int.random(in: 0...8, using: &generator)).map { _ in Self.pieces.randomElement(using: &generator) ?? "" }.joined())
        }
        var blank = 0
        for set in [CharacterSet.whitespaces, .whitespacesAndNewlines] {
            let differing = texts.filter { text in
                String(text.trimmed(of: set)) != text.trimmingCharacters(in: set)
                    || text.consists(of: set) != text.trimmingCharacters(in: set).isEmpty
            }
            XCTAssertEqual(differing.map { Array($0.unicodeScalars.map(\.value)) }, [])
            blank += texts.filter { $0.consists(of: set) }.count
        }
        XCTAssertGreaterThan(blank, 100, "the sample held blank texts")
        XCTAssertEqual(" application/json ".trimmed(of: .whitespaces), "application/json")
        XCTAssertTrue("\u{A0}\n\t".consists(of: .whitespacesAndNewlines))
        XCTAssertFalse("\u{A0}a".consists(of: .whitespacesAndNewlines))
        XCTAssertEqual(Array(" \u{301}x ".trimmed(of: .whitespaces).unicodeScalars), ["\u{301}", "x"],
                       "cut by scalar: the combining mark that followed the space stays")
    }
}

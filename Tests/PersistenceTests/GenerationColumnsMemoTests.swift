import Domain
import Foundation
@testable import Persistence
import XCTest

/// The memo of a generation's settings and candidates gives back what it decoded only for the
/// very texts it decoded them from, forgets a generation read ended, and stays bounded.
final class GenerationColumnsMemoTests: XCTestCase {
    private let settingsText = #"{"chat": {"messages": [{"role": "user", "content": "Say hello."}]}, "max_output_tokens": 16}"#
    private let candidatesText = #"[{"model": "gpt-4o-mini", "estimate": "0.000012", "provider": "openai", "inputTokens": 11}]"#

    private func decode(_ parameters: String, _ candidates: String, counting decodes: inout Int) throws
        -> (GenerationSettings, [GenerationCandidate]) {
        decodes += 1
        return (try JSONDecoder().decode(GenerationSettings.self, from: Data(parameters.utf8)),
                try JSONDecoder().decode([GenerationCandidate].self, from: Data(candidates.utf8)))
    }

    func testTheSameTextsAreDecodedOnceAndOtherTextsAgain() throws {
        let memo = GenerationColumnsMemo()
        let id = UUID()
        var decodes = 0
        let first = try memo.columns(of: id, parametersText: settingsText, candidatesText: candidatesText, ended: false) {
            try decode(settingsText, candidatesText, counting: &decodes)
        }
        XCTAssertEqual(first.0.parameters.maxOutputTokens, 16)
        XCTAssertEqual(first.0.parameters.chat?.messages.first?.content, "Say hello.")
        XCTAssertEqual(first.1.first?.inputTokens, 11)
        let again = try memo.columns(of: id, parametersText: settingsText, candidatesText: candidatesText, ended: false) {
            try decode(settingsText, candidatesText, counting: &decodes)
        }
        XCTAssertEqual(decodes, 1)
        XCTAssertEqual(again.0, first.0)
        XCTAssertEqual(again.1, first.1)
        // Another text for the same id (never written so, but the memo must not care) is decoded.
        let other = settingsText.replacingOccurrences(of: "16", with: "17")
        let changed = try memo.columns(of: id, parametersText: other, candidatesText: candidatesText, ended: false) {
            try decode(other, candidatesText, counting: &decodes)
        }
        XCTAssertEqual(decodes, 2)
        XCTAssertEqual(changed.0.parameters.maxOutputTokens, 17)
        // Another generation with the same texts is decoded on its own.
        _ = try memo.columns(of: UUID(), parametersText: other, candidatesText: candidatesText, ended: false) {
            try decode(other, candidatesText, counting: &decodes)
        }
        XCTAssertEqual(decodes, 3)
    }

    func testAnEndedGenerationIsForgottenAfterItsLastRead() throws {
        let memo = GenerationColumnsMemo()
        let id = UUID()
        var decodes = 0
        _ = try memo.columns(of: id, parametersText: settingsText, candidatesText: candidatesText, ended: false) {
            try decode(settingsText, candidatesText, counting: &decodes)
        }
        XCTAssertEqual(memo.count, 1)
        _ = try memo.columns(of: id, parametersText: settingsText, candidatesText: candidatesText, ended: true) {
            try decode(settingsText, candidatesText, counting: &decodes)
        }
        XCTAssertEqual(decodes, 1)
        XCTAssertEqual(memo.count, 0)
        _ = try memo.columns(of: id, parametersText: settingsText, candidatesText: candidatesText, ended: true) {
            try decode(settingsText, candidatesText, counting: &decodes)
        }
        XCTAssertEqual(decodes, 2)
        XCTAssertEqual(memo.count, 0)
    }

    func testAFailedDecodeIsThrownAndNotRemembered() {
        let memo = GenerationColumnsMemo()
        var decodes = 0
        XCTAssertThrowsError(try memo.columns(of: UUID(), parametersText: "[", candidatesText: candidatesText, ended: false) {
            try decode("[", candidatesText, counting: &decodes)
        })
        XCTAssertEqual(memo.count, 0)
    }

    func testTheMemoStaysWithinItsCapacity() throws {
        let memo = GenerationColumnsMemo(capacity: 3)
        var decodes = 0
        for _ in 0..<10 {
            _ = try memo.columns(of: UUID(), parametersText: settingsText, candidatesText: candidatesText, ended: false) {
                try decode(settingsText, candidatesText, counting: &decodes)
            }
            XCTAssertLessThanOrEqual(memo.count, 3)
        }
        XCTAssertEqual(decodes, 10)
    }
}

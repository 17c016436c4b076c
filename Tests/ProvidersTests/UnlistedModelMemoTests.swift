@testable import Providers
import Domain
import XCTest

/// Providers' answers about a request's model are remembered per price list, "not served" included,
/// and the table never outgrows its bound (models come from requests).
final class UnlistedModelMemoTests: XCTestCase {
    private let key = UnlistedModelKey(provider: .openrouter, model: "vendor/some-model", kind: .text)
    private let other = UnlistedModelKey(provider: .fal, model: "vendor/some-model", kind: .text)
    private let served = ModelCapability(id: "vendor/some-model", kind: .text, parameters: [])

    /// Whether the memo has an answer for `key` (which may itself be "not served").
    private func knows(_ memo: UnlistedModelMemo, _ key: UnlistedModelKey, _ version: String) -> Bool {
        if case .some = memo.answer(for: key, version: version) { return true }
        return false
    }

    func testAnswersAreRememberedPerPriceListNotServedIncluded() {
        let memo = UnlistedModelMemo()
        XCTAssertFalse(knows(memo, key, "v1"), "nothing known yet")
        memo.remember(nil, for: key, version: "v1")
        XCTAssertTrue(knows(memo, key, "v1"), "a remembered 'not served'")
        XCTAssertEqual(memo.answer(for: key, version: "v1").map { $0 == nil }, true)
        memo.remember(served, for: other, version: "v1")
        XCTAssertEqual(memo.answer(for: other, version: "v1")??.id, "vendor/some-model")
        XCTAssertFalse(knows(memo, other, "v2"), "another price list knows nothing yet")
        memo.remember(nil, for: other, version: "v2")
        XCTAssertFalse(knows(memo, key, "v1"), "the old price list's answers are dropped")
    }

    func testTheTableStartsAgainWhenFull() {
        let memo = UnlistedModelMemo()
        memo.remember(served, for: key, version: "v1")
        for number in 1..<UnlistedModelMemo.limit {
            memo.remember(nil, for: UnlistedModelKey(provider: .fal, model: "m\(number)", kind: .image), version: "v1")
        }
        XCTAssertTrue(knows(memo, key, "v1"), "still within the bound")
        let last = UnlistedModelKey(provider: .fal, model: "one more", kind: .image)
        memo.remember(nil, for: last, version: "v1")
        XCTAssertFalse(knows(memo, key, "v1"), "past the bound the table started again")
        XCTAssertTrue(knows(memo, last, "v1"))
    }
}

import Domain
import Foundation
@testable import Providers
import XCTest

/// A provider answer's usage counts that are missing or out of range are named
/// (`NormalisedUsage.unreported`), so the answer is charged the reserved estimate instead of
/// pricing the missing counts as 0.
final class UnreportedUsageTests: XCTestCase {
    private func json(_ text: String) throws -> WireJSON { try WireJSON.parse(Data(text.utf8)) }

    func testAChatAnswerWithoutUsageNamesBothRequiredCounts() {
        XCTAssertEqual(ChatCompletions.usage(nil).unreported, ["prompt_tokens", "completion_tokens"])
    }

    func testAChatCountOutOfRangeIsUnreportedNotZero() throws {
        let negative = ChatCompletions.usage(try json(#"{"prompt_tokens":-1,"completion_tokens":5}"#))
        XCTAssertEqual(negative.unreported, ["prompt_tokens"])
        let huge = ChatCompletions.usage(try json(#"{"prompt_tokens":9,"completion_tokens":1e13}"#))
        XCTAssertEqual(huge.unreported, ["completion_tokens"])
        let detail = ChatCompletions.usage(try json(#"{"prompt_tokens":9,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":-3}}"#))
        XCTAssertEqual(detail.unreported, ["prompt_tokens_details.cached_tokens"])
    }

    func testACompleteChatUsageHasNothingUnreported() throws {
        let usage = ChatCompletions.usage(try json(#"{"prompt_tokens":9,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":0}}"#))
        XCTAssertNil(usage.unreported)
        XCTAssertEqual(usage.inputTokens, 9)
        XCTAssertEqual(usage.outputTokens, 5)
    }

    func testAnAnthropicUsageWithoutInputTokensIsUnreported() throws {
        XCTAssertEqual(AnthropicProvider.usage(try json(#"{"output_tokens":5}"#), outputTokens: 5).unreported, ["input_tokens"])
        XCTAssertEqual(AnthropicProvider.usage(try json(#"{"input_tokens":7,"cache_read_input_tokens":-1}"#), outputTokens: 5).unreported,
                       ["cache_read_input_tokens"])
        // A broken stream's output count is counted from its text by the runner: not unreported here.
        XCTAssertNil(AnthropicProvider.usage(try json(#"{"input_tokens":7}"#), outputTokens: nil).unreported)
    }

    func testUnreportedCountsMakeThePricedUsageInvalid() {
        var reported = NormalisedUsage(inputTokens: 9, outputTokens: 0)
        reported.unreported = ["completion_tokens"]
        let usage = UsageMapping.pricingUsage(from: reported, provider: .openai, kind: .text)
        XCTAssertEqual(usage.validationErrors.map(\.field), ["completion_tokens"])
        XCTAssertTrue(UsageMapping.pricingUsage(from: NormalisedUsage(inputTokens: 9, outputTokens: 2), provider: .openai, kind: .text)
                        .validationErrors.isEmpty)
    }
}

import Domain
import Foundation
@testable import Providers
import XCTest

/// Numbers in provider responses are bounded where they enter: an implausible one is treated as
/// not reported, and none of them can trap the arithmetic that follows.
final class ReportedNumberTests: XCTestCase {
    func testChatUsageWithHostileCountsNeitherTrapsNorCharges() throws {
        let json = try WireJSON.parse(#"""
        {"prompt_tokens": 9223372036854775807, "completion_tokens": -9223372036854775808,
         "prompt_tokens_details": {"cached_tokens": -9223372036854775808, "cache_write_tokens": 1e30},
         "completion_tokens_details": {"reasoning_tokens": 1.5}}
        """#)
        let usage = ChatCompletions.usage(json)
        XCTAssertEqual(usage.inputTokens, 0, "a count beyond 10^12 is not believed")
        XCTAssertEqual(usage.cachedInputReadTokens, 0)
        XCTAssertEqual(usage.cachedInputWriteTokens, 0)
        XCTAssertEqual(usage.outputTokens, 0)
        XCTAssertEqual(usage.reasoningTokens, 0)
        XCTAssertEqual(usage.unreported, ["prompt_tokens", "completion_tokens", "prompt_tokens_details.cached_tokens",
                                          "prompt_tokens_details.cache_write_tokens", "completion_tokens_details.reasoning_tokens"],
                       "each is named, so the answer is charged its estimate rather than these zeros")
    }

    func testAHugeIntegralNumberWrittenWithAFractionIsNotBelieved() throws {
        // 2^64 + 5 written with a fraction: it reaches Int only through NSDecimalNumber, which must not wrap it into 5.
        let usage = ChatCompletions.usage(try WireJSON.parse(#"{"prompt_tokens": 18446744073709551621.0, "completion_tokens": 7.0}"#))
        XCTAssertEqual(usage.inputTokens, 0)
        XCTAssertEqual(usage.outputTokens, 7)
    }

    func testPlausibleCountsPassUnchanged() throws {
        let usage = ChatCompletions.usage(try WireJSON.parse(#"{"prompt_tokens": 120, "completion_tokens": 30, "prompt_tokens_details": {"cached_tokens": 20}}"#))
        XCTAssertEqual(usage.inputTokens, 100)
        XCTAssertEqual(usage.cachedInputReadTokens, 20)
        XCTAssertEqual(usage.outputTokens, 30)
    }

    func testSizesDelaysAndAmountsAreBounded() {
        XCTAssertNil(OpenAIProvider.dimensions("9999999999x9999999999"))
        XCTAssertNil(OpenAIProvider.dimensions("0x1024"))
        XCTAssertEqual(OpenAIProvider.dimensions("1536x1024")?.0, 1536)
        XCTAssertNil(VeoErrors.seconds("1e400s"), "an infinite delay is no delay to honour")
        XCTAssertNil(VeoErrors.seconds("86400s"))
        XCTAssertEqual(VeoErrors.seconds("37s"), 37)
        XCTAssertNil(ReportedNumbers.amount(Decimal(string: "1e30")))
        XCTAssertNil(ReportedNumbers.amount(-1))
        XCTAssertNil(ReportedNumbers.seconds(Decimal.nan))
        XCTAssertEqual(ReportedNumbers.count(1_000_000_000_000), 1_000_000_000_000)
        XCTAssertNil(ReportedNumbers.count(1_000_000_000_001))
        XCTAssertNil(ReportedNumbers.progress(Double("1e999")), "JSON cannot store an infinite progress")
        XCTAssertNil(ReportedNumbers.progress(-0.1))
        XCTAssertEqual(ReportedNumbers.progress(0.42), 0.42)
    }

    func testSumsOfCountsSaturateInsteadOfTrapping() {
        let usage = NormalisedUsage(inputTokens: .max, cachedInputReadTokens: .max)
        XCTAssertEqual(usage.totalInputTokens, .max)
    }
}

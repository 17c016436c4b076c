@testable import Domain
import Foundation
import XCTest

/// A quote estimates each provider and model once: the planner's estimate and the candidate's are one.
final class QuoteEstimatesTests: XCTestCase {
    private func estimate(_ model: String, total: Decimal) -> CostEstimate {
        CostEstimate(breakdown: CostBreakdown(provider: "openai", model: model, pricingVersionId: "v", currency: "USD", status: .priced,
                                              lines: [], total: Money(roundingToMaximumScale: total), missing: []),
                     basis: .worstCase, inputTokens: nil, maxOutputTokens: 16, assumptions: [])
    }

    func testEachProviderAndModelIsEstimatedOnceAndGivenBackTheSame() {
        let estimates = QuoteEstimates()
        var made: [String] = []
        func ask(_ provider: ProviderID, _ model: String, _ total: Decimal) -> CostEstimate {
            estimates.estimate(provider, model) {
                made.append("\(provider.rawValue)/\(model)")
                return estimate(model, total: total)
            }
        }
        let first = ask(.openai, "gpt-4o-mini", 1)
        XCTAssertEqual(ask(.openai, "gpt-4o-mini", 2), first)
        XCTAssertEqual(ask(.openai, "gpt-4o", 3).breakdown.total, Money(roundingToMaximumScale: 3))
        XCTAssertEqual(ask(.openrouter, "gpt-4o-mini", 4).breakdown.total, Money(roundingToMaximumScale: 4))
        XCTAssertEqual(ask(.openai, "gpt-4o", 5).breakdown.total, Money(roundingToMaximumScale: 3))
        XCTAssertEqual(made, ["openai/gpt-4o-mini", "openai/gpt-4o", "openrouter/gpt-4o-mini"])
    }
}

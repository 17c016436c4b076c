@testable import Domain
import Foundation
import XCTest

/// Numbers from requests and provider reports that would overflow `Int` are refused, never wrapped
/// or trapped on.
final class InputBoundsTests: XCTestCase {
    func testMegapixelsOfAnImpossibleSizeAreNilNotATrap() {
        XCTAssertNil(Megapixels.billable(width: 9_999_999_999, height: 9_999_999_999))
        XCTAssertNil(Megapixels.billable(images: [(Int.max / 2, 3)]))
        XCTAssertEqual(Megapixels.billable(width: 16_384, height: 16_384), 256)
    }

    func testSizesAreBoundedPerSide() {
        XCTAssertNil(CostEstimator.pixels(of: "9999999999x9999999999"))
        XCTAssertNil(CostEstimator.pixels(of: "16385x1"))
        XCTAssertNil(CostEstimator.pixels(of: "0x512"))
        XCTAssertEqual(CostEstimator.pixels(of: "16384x16384")?.width, 16_384)
        XCTAssertEqual(CostEstimator.pixels(of: "landscape_4_3")?.height, 768)
    }

    func testQuoteRequestRefusesAnOversizedSizeByWireName() {
        let request = QuoteRequest(projectID: "p", kind: .image, prompt: "a kite", size: "9999999999x9999999999")
        XCTAssertEqual(request.validationErrors().map(\.field), ["parameters.size"])
    }

    func testQuoteParametersAgainstAModel() {
        let model = ModelCapability(id: "m", kind: .image, parameters: [
            ParameterSpec(.size, .oneOf(["512x512"])), ParameterSpec(.count, .integerRange(min: 1, max: 4)),
        ])
        let fits = QuoteRequest(projectID: "p", kind: .image, prompt: "x", size: "512x512", count: 4)
        XCTAssertEqual(fits.unsupportedParameters(for: model), [])
        // The adapter refuses a parameter the model does not declare, so the quote does too.
        let undeclared = QuoteRequest(projectID: "p", kind: .image, prompt: "x", size: "512x512", quality: "high")
        XCTAssertEqual(undeclared.unsupportedParameters(for: model).map(\.field), ["parameters.quality"])
        let misfit = QuoteRequest(projectID: "p", kind: .image, prompt: "x", size: "1024x1024", count: 5, resolution: "4k")
        XCTAssertEqual(misfit.unsupportedParameters(for: model).map(\.field), ["parameters.size", "parameters.count", "parameters.resolution"])
        XCTAssertEqual(misfit.unsupportedParameters(for: model).map(\.code), ["unsupported_value", "unsupported_value", "unsupported_parameter"])
    }
}

/// Numbers from price files and usage reports.
final class PriceFileAndUsageBoundsTests: XCTestCase {
    func testATierSizeThatWouldOverflowIsIgnoredNotMultiplied() {
        XCTAssertEqual(LiteLLMCatalog.priceField("input_cost_per_token_above_9223372036854775807k_tokens"), .ignored("tier size out of range"))
        XCTAssertEqual(LiteLLMCatalog.priceField("input_cost_per_token_above_200k_tokens"),
                       .price(.inputToken, per: 1_000_000, scale: 1_000_000, above: 200_000))
    }

    func testPriceFileNumbersOutOfRangeAreValidationErrors() throws {
        let row = PriceRow(provider: "openai", model: "m", unit: .inputToken, price: try Money(parsing: "2000000"), per: 1_000_000,
                           effectiveFrom: "2026-01-01", source: "test", confidence: .verified, minimumQuantity: Decimal(string: "1e30"))
        var model = PricedModel(provider: "openai", model: "m", mode: .priced, source: "test", prices: [row])
        model.maxOutputTokens = Int.max
        let fields = PricingValidation.errors(in: [model], currency: "USD", effectiveFrom: "2026-01-01").map(\.field)
        XCTAssertEqual(Set(fields), ["models[0].max_output_tokens", "models[0].prices[0].price", "models[0].prices[0].minimum_quantity"])
    }

    func testUsageCountsBeyondTheBoundAreRefused() {
        let usage = Usage(inputTokens: Int.max, outputTokens: 1)
        XCTAssertEqual(usage.validationErrors.map(\.field), ["input_tokens"])
        XCTAssertEqual(usage.promptTokens, Int.max)
        let huge = Usage(video: [VideoQuantity(seconds: Decimal(string: "1e100") ?? 0)], megapixels: Decimal(string: "1e100") ?? 0,
                         credits: Decimal(string: "1e100") ?? 0)
        XCTAssertEqual(huge.validationErrors.map(\.field), ["video[0]", "megapixels", "credits"])
        XCTAssertEqual(Usage(video: [VideoQuantity(seconds: 8)], megapixels: 4, credits: 56).validationErrors, [])
    }
}

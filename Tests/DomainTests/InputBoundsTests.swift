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
        let fits = QuoteRequest(projectID: "p", kind: .image, prompt: "x", size: "512x512", quality: "high", count: 4)
        XCTAssertEqual(fits.unsupportedParameters(for: model), [], "quality is not declared, so it cannot change the price")
        let misfit = QuoteRequest(projectID: "p", kind: .image, prompt: "x", size: "1024x1024", count: 5, resolution: "4k")
        XCTAssertEqual(misfit.unsupportedParameters(for: model).map(\.field), ["parameters.size", "parameters.n", "parameters.resolution"])
        XCTAssertEqual(misfit.unsupportedParameters(for: model).map(\.code), ["unsupported_value", "unsupported_value", "unsupported_parameter"])
    }
}

import Domain
import Foundation
import XCTest

/// The one mapping from providers' normalised usage to the usage the catalog prices.
final class UsageMappingTests: XCTestCase {
    func testTextCarriesEveryTokenCountOnce() {
        let reported = NormalisedUsage(inputTokens: 100, cachedInputReadTokens: 20, cachedInputWriteTokens: 5,
                                       cachedInputWriteOneHourTokens: 3, outputTokens: 50, reasoningTokens: 10, requests: 1)
        let usage = UsageMapping.pricingUsage(from: reported, provider: .anthropic, kind: .text)
        XCTAssertEqual(usage.inputTokens, 100)
        XCTAssertEqual(usage.cachedInputReadTokens, 20)
        XCTAssertEqual(usage.cachedInputWriteTokens, 5)
        XCTAssertEqual(usage.cachedInputWriteOneHourTokens, 3)
        XCTAssertEqual(usage.outputTokens, 50, "reasoning is inside output, never added again")
        XCTAssertEqual(usage.requests, 0, "a request count no model prices would make the cost unpriced")
    }

    func testFALMegapixelsRoundUpPerImageInUnitsOfTwoToTheTwenty() {
        // 1024×1024 is exactly one billing megapixel; 1025×1024 is just over, so two.
        let files = [OutputFile(path: "/a", mimeType: "image/png", byteCount: 1, width: 1024, height: 1024),
                     OutputFile(path: "/b", mimeType: "image/png", byteCount: 1, width: 1025, height: 1024)]
        let raw = NormalisedUsage(images: 2, megapixels: Decimal(1024 * 1024 + 1025 * 1024) / 1_000_000)
        XCTAssertEqual(UsageMapping.pricingUsage(from: raw, provider: .fal, kind: .image, files: files).megapixels, 3)
        // Not the raw 10⁶-pixel figure (2.1 → 3 would be right only by luck; 1.05 → 2 would be wrong).
        let one = [OutputFile(path: "/a", mimeType: "image/png", byteCount: 1, width: 1024, height: 1024)]
        XCTAssertEqual(UsageMapping.pricingUsage(from: NormalisedUsage(images: 1, megapixels: Decimal(string: "1.048576")),
                                                 provider: .fal, kind: .image, files: one).megapixels, 1)
    }

    func testFALMegapixelsWithoutFileSizesSpreadTheRawTotalOverTheImages() {
        // Two images of 1.5 × 2²⁰ pixels each: 2 billing megapixels each.
        let pixels = Decimal(3 * 1_048_576)
        let usage = UsageMapping.pricingUsage(from: NormalisedUsage(images: 2, megapixels: pixels / 1_000_000), provider: .fal, kind: .image)
        XCTAssertEqual(usage.megapixels, 4)
    }

    func testOtherImagesAreCountedWithSizeAndQuality() {
        let usage = UsageMapping.pricingUsage(from: NormalisedUsage(imageOutputTokens: 4160, images: 1, imageSize: "1024x1024", imageQuality: "high"),
                                              provider: .openai, kind: .image)
        XCTAssertEqual(usage.images, [ImageQuantity(count: 1, size: "1024x1024", quality: "high")])
        XCTAssertEqual(usage.imageOutputTokens, 4160)
        XCTAssertEqual(usage.megapixels, 0)
    }

    func testVideoSecondsAreSplitOverClipsAndRunwayCreditsWinWhenReported() {
        let veo = UsageMapping.pricingUsage(from: NormalisedUsage(videoSeconds: 16, videoClips: 2, videoResolution: "1080p"),
                                            provider: .veo, kind: .video)
        XCTAssertEqual(veo.video, [VideoQuantity(seconds: 8, resolution: "1080p", count: 2)])
        let runway = UsageMapping.pricingUsage(from: NormalisedUsage(videoSeconds: 5, videoClips: 1, providerCredits: 50, providerCreditUnit: "credits"),
                                               provider: .runway, kind: .imageToVideo)
        XCTAssertEqual(runway.credits, 50)
        XCTAssertEqual(runway.video, [])
    }

    func testSpeechIsCharactersOrElevenLabsCreditsAndProviderCostIsKept() {
        XCTAssertEqual(UsageMapping.pricingUsage(from: NormalisedUsage(characters: 1200), provider: .openai, kind: .audio).characters, 1200)
        let eleven = UsageMapping.pricingUsage(from: NormalisedUsage(characters: 1200, providerCredits: 600), provider: .elevenlabs, kind: .audio)
        XCTAssertEqual(eleven.credits, 600)
        XCTAssertEqual(eleven.characters, 0, "the credits are the charge; characters are not billed again")
        let routed = UsageMapping.pricingUsage(from: NormalisedUsage(inputTokens: 10, outputTokens: 5, providerReportedCostUSD: Decimal(string: "0.0123")),
                                               provider: .openrouter, kind: .text)
        XCTAssertEqual(routed.providerReportedCost, try Money(parsing: "0.0123"))
    }
}

/// The listing cursor is opaque to clients and refuses anything this server did not issue.
final class GenerationCursorTests: XCTestCase {
    func testRoundTripAndRefusals() throws {
        let cursor = GenerationCursor(createdMicroseconds: 1_764_000_000_123_456, id: UUID())
        XCTAssertEqual(GenerationCursor(token: cursor.token), cursor)
        for bad in ["", "not-a-cursor", "MTIz", String(repeating: "A", count: 200),
                    Data("-1.\(UUID().uuidString)".utf8).base64EncodedString(), Data("12.not-a-uuid".utf8).base64EncodedString()] {
            XCTAssertNil(GenerationCursor(token: bad), bad)
        }
    }
}

import Foundation

/// The one mapping from what a provider reported (`NormalisedUsage`) to what the catalog prices
/// (`Usage`). Only quantities the provider bills by are carried over: a quantity the model has
/// no price for would make the cost unpriced.
public enum UsageMapping {
    public static func pricingUsage(from reported: NormalisedUsage, provider: ProviderID, kind: MediaKind,
                                    files: [OutputFile] = []) -> Usage {
        var usage = Usage()
        usage.unreported = reported.unreported
        usage.providerReportedCost = reported.providerReportedCostUSD.flatMap { try? Money(exactly: $0) }
        switch kind {
        case .text:
            usage.inputTokens = reported.inputTokens
            usage.cachedInputReadTokens = reported.cachedInputReadTokens
            usage.cachedInputWriteTokens = reported.cachedInputWriteTokens
            usage.cachedInputWriteOneHourTokens = reported.cachedInputWriteOneHourTokens
            usage.outputTokens = reported.outputTokens
        case .image:
            if provider == .fal {
                usage.megapixels = Decimal(falMegapixels(reported, files: files) ?? 0)
            } else {
                usage.inputTokens = reported.inputTokens
                usage.outputTokens = reported.outputTokens
                usage.imageInputTokens = reported.imageInputTokens
                usage.imageOutputTokens = reported.imageOutputTokens
                if reported.images > 0 {
                    usage.images = [ImageQuantity(count: reported.images, size: reported.imageSize, quality: reported.imageQuality)]
                }
            }
        case .video, .imageToVideo:
            if provider == .runway, let credits = reported.providerCredits {
                usage.credits = credits
            } else if let seconds = reported.videoSeconds, seconds > 0 {
                let clips = max(1, reported.videoClips)
                usage.video = [VideoQuantity(seconds: seconds / Decimal(clips), resolution: reported.videoResolution, count: clips)]
            }
        case .audio:
            if provider == .elevenlabs, let credits = reported.providerCredits {
                usage.credits = credits
            } else {
                usage.characters = reported.characters ?? 0
            }
        }
        return usage
    }

    /// FAL bills FLUX per megapixel with each image rounded *up* to whole units of 2²⁰ pixels
    /// (`Megapixels`), not the raw 10⁶-pixel figure the adapter reports. From the files' sizes
    /// when known, else from the raw total spread evenly over the images.
    static func falMegapixels(_ reported: NormalisedUsage, files: [OutputFile]) -> Int? {
        let sized = files.compactMap { file in file.width.flatMap { width in file.height.map { (width: width, height: $0) } } }
        if !sized.isEmpty, sized.count == files.count {
            return Megapixels.billable(images: sized)
        }
        guard let raw = reported.megapixels, raw > 0 else { return 0 }
        let images = max(1, reported.images)
        let pixelsEach = raw * 1_000_000 / Decimal(images)
        var units = pixelsEach / Decimal(Megapixels.pixelsPerMegapixel)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &units, 0, .up)
        let each = NSDecimalNumber(decimal: rounded).intValue
        return each.multipliedReportingOverflow(by: images).overflow ? nil : each * images
    }
}

import Domain
import Foundation

/// FAL queue models (providers.md §7.3): FLUX for images, Kling for image-to-video.
enum FALCatalog {
    static let imageSizes = ["square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9"]
    static let klingModel = "fal-ai/kling-video/v2.1/standard/image-to-video"

    static let capabilities = ProviderCapabilities(provider: .fal, models: [
        flux("fal-ai/flux/dev"),
        flux("fal-ai/flux/schnell"),
        ModelCapability(id: klingModel, kind: .imageToVideo, parameters: [
            ParameterSpec(.inputImage, .image, required: true),
            ParameterSpec(.durationSeconds, .integers([5, 10]), default: "5"),
            ParameterSpec(.negativePrompt, .text(maxLength: 2500)),
        ], isAsynchronous: true, maxPromptLength: 2500),
    ])

    static func flux(_ id: String) -> ModelCapability {
        ModelCapability(id: id, kind: .image, parameters: [
            ParameterSpec(.size, .oneOf(imageSizes), default: "landscape_4_3"),
            ParameterSpec(.count, .integerRange(min: 1, max: 4), default: "1"),
            ParameterSpec(.seed, .integerRange(min: 0, max: Int(Int32.max))),
            ParameterSpec(.outputFormat, .oneOf(["jpeg", "png"]), default: "jpeg"),
        ], isAsynchronous: true)
    }

    /// The listed models plus every FAL image model and image-to-video model the price list prices
    /// (FAL's queue takes any endpoint id; these are the inputs its image and video models share).
    static func capabilities(priceList: PricingVersion?) -> ProviderCapabilities {
        let priced = priceList?.models(provider: ProviderID.fal.rawValue) ?? []
        return capabilities.adding(priced.filter { isEndpointID($0.model) }.flatMap { model in
            model.impliedKinds.compactMap { kind -> ModelCapability? in
                switch kind {
                case .image: generic(model.model, kind: .image)
                case .video where model.model.contains("image-to-video"): generic(model.model, kind: .imageToVideo)
                default: nil
                }
            }
        }, notes: ["any FAL endpoint id (owner/app[/path]) is accepted for images and image-to-video, unpriced unless the price list knows it"])
    }

    /// A capability for an endpoint this list does not describe: FAL's common text-to-image and
    /// image-to-video inputs, with the bounds FAL's own models share.
    static func generic(_ id: String, kind: MediaKind) -> ModelCapability? {
        switch kind {
        case .image:
            flux(id)
        case .imageToVideo:
            ModelCapability(id: id, kind: .imageToVideo, parameters: [
                ParameterSpec(.inputImage, .image, required: true),
                ParameterSpec(.durationSeconds, .integerRange(min: 1, max: 20)),
                ParameterSpec(.negativePrompt, .text(maxLength: 2500)),
            ], isAsynchronous: true, maxPromptLength: 2500)
        case .text, .video, .audio:
            nil
        }
    }

    /// `owner/app` or `owner/app/path…`: lowercase letters, digits, `-`, `_`, `.`; no empty or dot-only segment.
    static func isEndpointID(_ id: String) -> Bool {
        let segments = id.split(separator: "/", omittingEmptySubsequences: false)
        return id.utf8.count <= 200 && segments.count >= 2 && segments.allSatisfy { segment in
            !segment.isEmpty && segment != "." && segment != ".."
                && segment.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || "-_.".contains($0) }
        }
    }

    /// The SDK polls every 0.1 s, too often; providers.md suggests 1–2 s for images, 5 s for video.
    static func pollInterval(for kind: MediaKind) -> Double { kind == .image ? 1.5 : 5 }
}

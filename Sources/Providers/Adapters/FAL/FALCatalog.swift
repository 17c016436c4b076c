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

    /// The SDK polls every 0.1 s, too often; providers.md suggests 1–2 s for images, 5 s for video.
    static func pollInterval(for kind: MediaKind) -> Double { kind == .image ? 1.5 : 5 }
}

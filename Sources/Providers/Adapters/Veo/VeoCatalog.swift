import Domain
import Foundation

/// Veo on the Gemini API (providers.md §6.1). Each model serves text-to-video and
/// image-to-video (first frame as inline bytes).
enum VeoCatalog {
    static let models: [(id: String, resolutions: [String])] = [
        ("veo-3.1-generate-001", ["720p", "1080p", "4k"]),
        ("veo-3.1-fast-generate-001", ["720p", "1080p", "4k"]),
        ("veo-3.1-lite-generate-001", ["720p", "1080p"]),
    ]

    static let capabilities = ProviderCapabilities(provider: .veo, models: models.flatMap { model in
        [MediaKind.video, .imageToVideo].map { kind in
            var parameters = [
                ParameterSpec(.aspectRatio, .oneOf(["16:9", "9:16"]), default: "16:9"),
                ParameterSpec(.resolution, .oneOf(model.resolutions), default: "720p"),
                ParameterSpec(.durationSeconds, .integers([4, 6, 8]), default: "8"),
                ParameterSpec(.negativePrompt, .text(maxLength: 2000)),
                ParameterSpec(.count, .integerRange(min: 1, max: 4), default: "1"),
            ]
            if kind == .imageToVideo { parameters.append(ParameterSpec(.inputImage, .image, required: true)) }
            return ModelCapability(id: model.id, kind: kind, parameters: parameters, isAsynchronous: true)
        }
    }, notes: ["1080p and 4k require duration_seconds 8", "Veo operations cannot be cancelled on the Gemini API"])

    /// Official samples poll every 10 s; generation takes 11 s to 6 min (§6.2).
    static let pollInterval: Double = 10
}

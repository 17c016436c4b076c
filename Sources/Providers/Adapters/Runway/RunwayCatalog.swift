import Domain
import Foundation

/// Runway models per endpoint (Runway's API reference, SDK 5.13.0). `aspect_ratio` carries
/// Runway's pixel ratios (`1280:720`); for images the ratio also sets the price tier (a 720-pixel
/// side is a 720p image, anything larger 1080p).
enum RunwayCatalog {
    static let gen4VideoRatios = ["1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"]
    static let veoRatios = ["1280:720", "720:1280", "1080:1920", "1920:1080"]
    static let imageRatios = ["1024:1024", "1080:1080", "1168:880", "1360:768", "1440:1080", "1080:1440", "1808:768",
                              "1920:1080", "1080:1920", "2112:912", "1280:720", "720:1280", "720:720", "960:720",
                              "720:960", "1680:720"]

    static let capabilities = ProviderCapabilities(provider: .runway, models: [
        video("gen4_turbo", kind: .imageToVideo, ratios: gen4VideoRatios, durations: .integerRange(min: 2, max: 10)),
        video("gen4.5", kind: .imageToVideo, ratios: gen4VideoRatios, durations: .integerRange(min: 2, max: 10)),
        video("gen4.5", kind: .video, ratios: ["1280:720", "720:1280"], durations: .integerRange(min: 2, max: 10)),
        video("veo3.1", kind: .video, ratios: veoRatios, durations: .integers([4, 6, 8]), audio: true),
        video("veo3.1_fast", kind: .video, ratios: veoRatios, durations: .integers([4, 6, 8]), audio: true),
        image("gen4_image", referenceRequired: false),
        image("gen4_image_turbo", referenceRequired: true),
    ])

    /// `audio`: the model takes Runway's `audio` switch, which changes its price per second.
    static func video(_ id: String, kind: MediaKind, ratios: [String], durations: AllowedValues, audio: Bool = false) -> ModelCapability {
        var parameters = [
            ParameterSpec(.aspectRatio, .oneOf(ratios), default: ratios[0]),
            ParameterSpec(.durationSeconds, durations, default: durations == .integers([4, 6, 8]) ? "8" : "5"),
            ParameterSpec(.seed, .integerRange(min: 0, max: 4_294_967_295)),
        ]
        if audio { parameters.append(ParameterSpec(.audio, .boolean, default: "true")) }
        if kind == .imageToVideo { parameters.append(ParameterSpec(.inputImage, .image, required: true)) }
        return ModelCapability(id: id, kind: kind, parameters: parameters, isAsynchronous: true, maxPromptLength: 1000)
    }

    static func image(_ id: String, referenceRequired: Bool) -> ModelCapability {
        ModelCapability(id: id, kind: .image, parameters: [
            ParameterSpec(.aspectRatio, .oneOf(imageRatios), default: "1920:1080"),
            ParameterSpec(.seed, .integerRange(min: 0, max: 4_294_967_295)),
            ParameterSpec(.inputImage, .image, required: referenceRequired),
        ], isAsynchronous: true, maxPromptLength: 1000)
    }

    /// Seconds between polls: the SDK waits 6 s; images finish faster.
    static func pollInterval(for kind: MediaKind) -> Double { kind == .image ? 2 : 5 }
}

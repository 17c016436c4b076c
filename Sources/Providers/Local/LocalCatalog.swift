import Domain
import Foundation

/// What the offline provider can do on this machine. Text and images need nothing; speech needs
/// `espeak-ng`, other audio formats and video need `ffmpeg`. A missing tool removes the
/// capability and says why; nothing is faked.
enum LocalCatalog {
    static let textModel = "offline-text"
    static let imageModel = "offline-image"
    static let speechModel = "offline-speech"
    static let videoModel = "offline-video"
    static let imageToVideoModel = "offline-image-to-video"

    static let imageSizes = ["256x256", "512x512", "768x768", "1024x1024", "1024x768", "768x1024", "1280x720", "720x1280"]
    static let videoSizes = ["640x360", "360x640", "512x512", "1280x720"]
    static let voices = ["en", "en-us", "en-gb", "de", "fr", "es", "it", "pt", "nl"]

    static func capabilities(espeak: String?, ffmpeg: String?) -> ProviderCapabilities {
        var models = [
            ModelCapability(id: textModel, kind: .text, displayName: "Offline text (echo, no model)", parameters: [
                ParameterSpec(.systemPrompt, .text(maxLength: 100_000)),
                ParameterSpec(.maxOutputTokens, .integerRange(min: 1, max: 100_000)),
                ParameterSpec(.temperature, .decimalRange(min: 0, max: 2)),
                ParameterSpec(.seed, .integerRange(min: 0, max: Int(Int32.max))),
            ]),
            ModelCapability(id: imageModel, kind: .image, displayName: "Offline image (drawn from the prompt)", parameters: [
                ParameterSpec(.size, .oneOf(imageSizes), default: "512x512"),
                ParameterSpec(.count, .integerRange(min: 1, max: 4), default: "1"),
                ParameterSpec(.seed, .integerRange(min: 0, max: Int(Int32.max))),
                ParameterSpec(.outputFormat, .oneOf(["png"]), default: "png"),
            ]),
        ]
        var notes = ["offline: results are generated on this machine, no provider is called, nothing is charged"]
        if espeak != nil {
            let formats = ffmpeg != nil ? ["wav", "mp3", "flac", "ogg"] : ["wav"]
            models.append(ModelCapability(id: speechModel, kind: .audio, displayName: "Offline speech (espeak-ng)", parameters: [
                ParameterSpec(.voice, .oneOf(voices), default: "en"),
                ParameterSpec(.outputFormat, .oneOf(formats), default: "wav"),
                ParameterSpec(.speed, .decimalRange(min: Decimal(1) / 2, max: 2), default: "1"),
            ], maxPromptLength: 20_000))
            if ffmpeg == nil { notes.append("audio formats other than wav: ffmpeg not found on PATH") }
        } else {
            notes.append("audio: espeak-ng not found on PATH")
        }
        if ffmpeg != nil {
            let video = [
                ParameterSpec(.size, .oneOf(videoSizes), default: "640x360"),
                ParameterSpec(.durationSeconds, .integerRange(min: 1, max: 10), default: "3"),
                ParameterSpec(.seed, .integerRange(min: 0, max: Int(Int32.max))),
            ]
            models.append(ModelCapability(id: videoModel, kind: .video, displayName: "Offline video (ffmpeg, drawn image)",
                                          parameters: video))
            models.append(ModelCapability(id: imageToVideoModel, kind: .imageToVideo, displayName: "Offline image-to-video (ffmpeg)",
                                          parameters: video + [ParameterSpec(.inputImage, .image, required: true)]))
        } else {
            notes.append("video and image_to_video: ffmpeg not found on PATH")
        }
        return ProviderCapabilities(provider: .local, requiresKey: false, isOffline: true, models: models, notes: notes)
    }
}

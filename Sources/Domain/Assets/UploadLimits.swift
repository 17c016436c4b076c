import Foundation

/// The largest upload accepted per kind, in bytes (configurable; the JSON body limit does not apply).
public struct UploadLimits: Sendable, Equatable {
    public var image: Int64
    public var audio: Int64
    public var video: Int64
    public var text: Int64

    public static let standard = UploadLimits(image: 20_000_000, audio: 50_000_000, video: 500_000_000, text: 1_000_000)

    public init(image: Int64, audio: Int64, video: Int64, text: Int64) {
        self.image = image
        self.audio = audio
        self.video = video
        self.text = text
    }

    public func limit(for kind: MediaKind) -> Int64 {
        switch kind {
        case .image: return image
        case .audio: return audio
        case .video, .imageToVideo: return video
        case .text: return text
        }
    }
}

import Foundation

/// Small but well-formed media bytes, so a client that checks magic numbers or MIME types
/// accepts the fake's outputs.
enum Assets {
    /// A valid 1×1 PNG.
    static let png = Data(base64Encoded:
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==") ?? Data()

    /// A baseline 1×1 JPEG.
    static let jpeg = Data(base64Encoded:
        "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP////////////////////////////////////////////////////////"
        + "//////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=") ?? Data()

    /// An ID3 tag and MPEG-1 Layer III frame headers: what players sniff as MP3.
    static let mp3: Data = {
        var bytes: [UInt8] = [0x49, 0x44, 0x33, 0x04, 0, 0, 0, 0, 0, 0]
        for _ in 0..<8 { bytes += [0xFF, 0xFB, 0x90, 0x64] + [UInt8](repeating: 0, count: 413) }
        return Data(bytes)
    }()

    /// A quarter second of 24 kHz 16-bit mono silence with a correct RIFF header.
    static let wav: Data = {
        let samples = 6000
        let dataBytes = UInt32(samples * 2)
        var bytes = Array("RIFF".utf8) + le32(36 + dataBytes) + Array("WAVE".utf8)
        bytes += Array("fmt ".utf8) + le32(16) + le16(1) + le16(1) + le32(24_000) + le32(48_000) + le16(2) + le16(16)
        bytes += Array("data".utf8) + le32(dataBytes) + [UInt8](repeating: 0, count: Int(dataBytes))
        return Data(bytes)
    }()

    static let pcm = Data(count: 12_000)
    static let ogg = Data(Array("OggS".utf8) + [0, 2] + [UInt8](repeating: 0, count: 1000))
    static let flac = Data(Array("fLaC".utf8) + [UInt8](repeating: 0, count: 1000))
    static let aac = Data([0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC] + [UInt8](repeating: 0, count: 1000))
    static let ulaw = Data(repeating: 0xFF, count: 2000)

    /// An `ftyp` box and filler: the start of an MP4, as sniffers see it.
    static let mp4 = Data([0, 0, 0, 0x18] + Array("ftypisom".utf8) + [0, 0, 2, 0] + Array("isomiso2".utf8)
        + [0, 0, 0x08, 0x08] + Array("free".utf8) + [UInt8](repeating: 0x11, count: 2048))

    /// Bytes and MIME type for an audio format name (OpenAI `response_format`, or the prefix of
    /// an ElevenLabs `output_format` such as `mp3_44100_128`).
    static func audio(_ format: String) -> (Data, String) {
        switch format.split(separator: "_").first.map(String.init) ?? "" {
        case "opus": (ogg, "audio/ogg")
        case "aac": (aac, "audio/aac")
        case "flac": (flac, "audio/flac")
        case "wav": (wav, "audio/wav")
        case "pcm": (pcm, "audio/pcm")
        case "ulaw": (ulaw, "audio/basic")
        case "alaw": (ulaw, "audio/x-alaw-basic")
        default: (mp3, "audio/mpeg")
        }
    }

    /// A file served at a fake storage URL, chosen by its extension.
    static func file(named name: String) -> (Data, String)? {
        switch (name as NSString).pathExtension.lowercased() {
        case "png": (png, "image/png")
        case "jpg", "jpeg": (jpeg, "image/jpeg")
        case "mp4": (mp4, "video/mp4")
        case "mp3": (mp3, "audio/mpeg")
        case "wav": (wav, "audio/wav")
        default: nil
        }
    }

    private static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> ($0 * 8)) & 0xFF) } }
    private static func le16(_ value: UInt16) -> [UInt8] { (0..<2).map { UInt8((value >> ($0 * 8)) & 0xFF) } }
}

/// Deterministic usage numbers, documented in the README, so tests can assert exact values.
enum FakeUsage {
    /// About four UTF-8 bytes a token, never zero.
    static func tokens(_ text: String) -> Int { max(1, (text.utf8.count + 3) / 4) }

    /// The reply every text model gives: it names the provider and echoes the start of the prompt.
    static func reply(provider: String, prompt: String) -> String {
        let echo = prompt.replacingOccurrences(of: "\n", with: " ").prefix(60)
        return "This is a fake \(provider) reply to: \(echo)"
    }

    /// The reply cut to `maxTokens` tokens (about four bytes each), and whether it was cut.
    static func limit(_ reply: String, maxTokens: Int?) -> (String, Bool) {
        guard let maxTokens, tokens(reply) > maxTokens else { return (reply, false) }
        return (String(reply.prefix(max(1, maxTokens * 4 - 3))), true)
    }
}

import Foundation

/// The media types an upload may declare, the kind each is, and how the bytes are recognised.
public enum UploadMediaType: String, Sendable, CaseIterable {
    case png = "image/png"
    case jpeg = "image/jpeg"
    case webp = "image/webp"
    case gif = "image/gif"
    case mp4 = "video/mp4"
    case quicktime = "video/quicktime"
    case webm = "video/webm"
    case mp3 = "audio/mpeg"
    case wav = "audio/wav"
    case ogg = "audio/ogg"
    case flac = "audio/flac"
    case text = "text/plain"
    case markdown = "text/markdown"
    case json = "application/json"

    public var kind: MediaKind {
        switch self {
        case .png, .jpeg, .webp, .gif: return .image
        case .mp4, .quicktime, .webm: return .video
        case .mp3, .wav, .ogg, .flac: return .audio
        case .text, .markdown, .json: return .text
        }
    }

    /// The declared `Content-Type` (parameters and case ignored, common aliases accepted), or nil.
    public init?(declared contentType: String) {
        let media = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let aliases: [String: UploadMediaType] = ["image/jpg": .jpeg, "audio/x-wav": .wav, "audio/wave": .wav, "audio/vnd.wave": .wav,
                                                  "audio/mp3": .mp3, "audio/x-flac": .flac, "text/x-markdown": .markdown]
        guard let type = UploadMediaType(rawValue: media) ?? aliases[media] else { return nil }
        self = type
    }

    /// What the stored asset's Content-Type says (text with its charset).
    public var storedContentType: String {
        kind == .text ? rawValue + "; charset=utf-8" : rawValue
    }
}

/// Recognises a file's type from its first bytes (magic numbers). Text types cannot be told apart
/// by their bytes: any valid UTF-8 without NUL is text, and the declared text type stands.
public enum MediaSniffer {
    /// How many leading bytes `sniff` needs at most.
    public static let prefixBytes = 64

    public static func sniff(_ prefix: [UInt8]) -> UploadMediaType? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            prefix.count >= offset + magic.count && Array(prefix[offset..<(offset + magic.count)]) == magic
        }
        func ascii(_ text: String, at offset: Int = 0) -> Bool { starts(Array(text.utf8), at: offset) }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if ascii("GIF87a") || ascii("GIF89a") { return .gif }
        if ascii("RIFF") && ascii("WEBP", at: 8) { return .webp }
        if ascii("RIFF") && ascii("WAVE", at: 8) { return .wav }
        if ascii("ftyp", at: 4) { return ascii("qt  ", at: 8) ? .quicktime : .mp4 }
        if starts([0x1A, 0x45, 0xDF, 0xA3]) { return .webm }
        if ascii("OggS") { return .ogg }
        if ascii("fLaC") { return .flac }
        if ascii("ID3") || (prefix.count >= 2 && prefix[0] == 0xFF && (prefix[1] & 0xE0) == 0xE0) { return .mp3 }
        return nil
    }

    /// Whether the sniffed type agrees with the declared one: the same type, MP4 and QuickTime
    /// (one container family), or any text type for text that is valid UTF-8 (checked separately).
    public static func agrees(declared: UploadMediaType, sniffed: UploadMediaType?) -> Bool {
        if declared.kind == .text { return sniffed == nil }
        guard let sniffed else { return false }
        if sniffed == declared { return true }
        let isoFamily: Set<UploadMediaType> = [.mp4, .quicktime]
        return isoFamily.contains(declared) && isoFamily.contains(sniffed)
    }
}

/// Checks that bytes fed piece by piece are UTF-8 without NUL, carrying a split character across pieces.
public struct UTF8Validator: Sendable {
    private var carry: [UInt8] = []
    public private(set) var valid = true

    public init() {}

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard valid else { return }
        var piece = carry
        piece.append(contentsOf: bytes)
        // Hold back an incomplete sequence at the end (at most 3 bytes) for the next piece.
        var end = piece.count
        var back = 0
        while back < 3, end - back - 1 >= 0 {
            let byte = piece[end - back - 1]
            if byte & 0xC0 == 0x80 { back += 1; continue }
            let needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            if needed > back + 1 { end = end - back - 1 }
            break
        }
        carry = Array(piece[end...])
        let body = piece[..<end]
        if body.contains(0) || String(validating: body, as: UTF8.self) == nil { valid = false }
    }

    /// True when everything fed was valid and nothing is left incomplete.
    public mutating func finish() -> Bool {
        valid && carry.isEmpty
    }
}

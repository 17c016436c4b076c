import Foundation

/// Dimensions and durations read from container headers, without decoding any media: the
/// fallback when `ffprobe` is absent, and the quick first answer when it is present. Every read is
/// bounded; a malformed header yields nil, never a trap.
public enum HeaderMetadata {
    /// Reads `count` bytes at `offset` (fewer at the end of the file).
    public typealias Read = (_ offset: Int64, _ count: Int) throws -> [UInt8]

    public static func read(_ type: UploadMediaType, size: Int64, _ read: Read) -> MediaMetadata {
        switch type {
        case .png, .gif, .webp, .jpeg:
            guard let (width, height) = try? dimensions(type, read), width > 0, height > 0 else { return MediaMetadata() }
            return MediaMetadata(width: width, height: height)
        case .wav:
            return MediaMetadata(durationMilliseconds: try? wavDuration(size: size, read))
        case .mp4, .quicktime:
            return MediaMetadata(durationMilliseconds: try? isoDuration(size: size, read))
        case .mp3:
            return MediaMetadata(durationMilliseconds: try? mp3Duration(size: size, read))
        case .ogg:
            return MediaMetadata(durationMilliseconds: try? oggDuration(size: size, read))
        case .flac:
            return MediaMetadata(durationMilliseconds: try? flacDuration(size: size, read))
        case .webm:
            return MediaMetadata(durationMilliseconds: try? matroskaDuration(size: size, read))
        case .text, .markdown, .json:
            return MediaMetadata(previewText: try? preview(read))
        }
    }

    /// The first characters (Unicode scalars) of a text.
    public static let previewCharacters = 200

    static func preview(_ read: Read) throws -> String? {
        let head = try read(0, previewCharacters * 4)
        var text = String(decoding: head, as: UTF8.self)
        // A character cut at the end of the read decodes as U+FFFD: drop it.
        if head.count == previewCharacters * 4, text.hasSuffix("\u{FFFD}") { text.removeLast() }
        // Counted in Unicode scalars, as the database counts characters (a grapheme may hold many).
        let preview = String(String.UnicodeScalarView(text.unicodeScalars.prefix(previewCharacters)))
        return preview.isEmpty ? nil : preview
    }

    static func be16(_ b: [UInt8], _ i: Int) -> Int? { i + 2 <= b.count ? Int(b[i]) << 8 | Int(b[i + 1]) : nil }
    static func le16(_ b: [UInt8], _ i: Int) -> Int? { i + 2 <= b.count ? Int(b[i + 1]) << 8 | Int(b[i]) : nil }
    static func be32(_ b: [UInt8], _ i: Int) -> Int64? {
        i + 4 <= b.count ? (0..<4).reduce(Int64(0)) { $0 << 8 | Int64(b[i + $1]) } : nil
    }
    static func le32(_ b: [UInt8], _ i: Int) -> Int64? {
        i + 4 <= b.count ? (0..<4).reversed().reduce(Int64(0)) { $0 << 8 | Int64(b[i + $1]) } : nil
    }
    static func be64(_ b: [UInt8], _ i: Int) -> Int64? {
        guard i + 8 <= b.count, b[i] < 0x80 else { return nil }
        return (0..<8).reduce(Int64(0)) { $0 << 8 | Int64(b[i + $1]) }
    }

    static func dimensions(_ type: UploadMediaType, _ read: Read) throws -> (Int, Int)? {
        switch type {
        case .png:
            let head = try read(0, 24)
            guard let w = be32(head, 16), let h = be32(head, 20), w <= Int32.max, h <= Int32.max else { return nil }
            return (Int(w), Int(h))
        case .gif:
            let head = try read(0, 10)
            guard let w = le16(head, 6), let h = le16(head, 8) else { return nil }
            return (w, h)
        case .webp:
            let head = try read(0, 30)
            guard head.count >= 30 else { return nil }
            let chunk = String(decoding: head[12..<16], as: UTF8.self)
            switch chunk {
            case "VP8 ":
                guard let w = le16(head, 26), let h = le16(head, 28) else { return nil }
                return (w & 0x3FFF, h & 0x3FFF)
            case "VP8L":
                let b1 = Int(head[22]), b2 = Int(head[23]), b3 = Int(head[24]), b4 = Int(head[25])
                return (1 + ((b2 & 0x3F) << 8 | b1), 1 + ((b4 & 0x0F) << 10 | b3 << 2 | (b2 & 0xC0) >> 6))
            case "VP8X":
                let w = 1 + (Int(head[24]) | Int(head[25]) << 8 | Int(head[26]) << 16)
                let h = 1 + (Int(head[27]) | Int(head[28]) << 8 | Int(head[29]) << 16)
                return (w, h)
            default:
                return nil
            }
        case .jpeg:
            return try jpegDimensions(read)
        default:
            return nil
        }
    }

    /// Walks JPEG segments to the first start-of-frame marker (within the first 1 MiB).
    static func jpegDimensions(_ read: Read) throws -> (Int, Int)? {
        var offset: Int64 = 2
        for _ in 0..<512 where offset < 1 << 20 {
            let head = try read(offset, 9)
            guard head.count >= 4, head[0] == 0xFF else { return nil }
            let marker = head[1]
            if marker == 0xFF { offset += 1; continue }
            guard let length = be16(head, 2), length >= 2 else { return nil }
            let isFrame = (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker)
            if isFrame {
                guard let h = be16(head, 5), let w = be16(head, 7) else { return nil }
                return (w, h)
            }
            offset += 2 + Int64(length)
        }
        return nil
    }

    /// RIFF/WAVE: data bytes over the fmt chunk's byte rate.
    static func wavDuration(size: Int64, _ read: Read) throws -> Int64? {
        var offset: Int64 = 12
        var byteRate: Int64?
        for _ in 0..<64 where offset + 8 <= size {
            let head = try read(offset, 16)
            guard let chunkSize = le32(head, 4), head.count >= 8 else { return nil }
            let id = String(decoding: head[0..<4], as: UTF8.self)
            if id == "fmt " {
                let fmt = try read(offset + 8, 16)
                byteRate = le32(fmt, 8)
            }
            if id == "data" {
                guard let byteRate, byteRate > 0 else { return nil }
                let dataBytes = min(chunkSize, size - offset - 8)
                return dataBytes * 1000 / byteRate
            }
            offset += 8 + chunkSize + (chunkSize & 1)
        }
        return nil
    }

    /// ISO base media (MP4, QuickTime): `moov/mvhd`'s duration over its timescale. Walks top-level
    /// boxes by their sizes, so a `moov` at the end of a large file costs a few reads, not a scan.
    static func isoDuration(size: Int64, _ read: Read) throws -> Int64? {
        guard let moov = try findBox("moov", from: 0, to: size, read),
              let mvhd = try findBox("mvhd", from: moov.payload, to: moov.end, read) else { return nil }
        let body = try read(mvhd.payload, 32)
        guard let version = body.first else { return nil }
        let timescale: Int64?
        let duration: Int64?
        if version == 1 {
            timescale = be32(body, 20)
            duration = be64(body, 24)
        } else {
            timescale = be32(body, 12)
            duration = be32(body, 16)
        }
        guard let timescale, timescale > 0, let duration, duration < Int64.max / 1000 else { return nil }
        return duration * 1000 / timescale
    }

    private static func findBox(_ type: String, from start: Int64, to end: Int64, _ read: Read) throws -> (payload: Int64, end: Int64)? {
        var offset = start
        for _ in 0..<4096 where offset + 8 <= end {
            let head = try read(offset, 16)
            guard var boxSize = be32(head, 0), head.count >= 8 else { return nil }
            var header: Int64 = 8
            if boxSize == 1 {
                guard let large = be64(head, 8) else { return nil }
                boxSize = large
                header = 16
            } else if boxSize == 0 {
                boxSize = end - offset
            }
            // Compared without adding: a 64-bit size near Int64.max would overflow `offset + boxSize`.
            guard boxSize >= header, boxSize <= end - offset else { return nil }
            if String(decoding: head[4..<8], as: UTF8.self) == type { return (offset + header, offset + boxSize) }
            offset += boxSize
        }
        return nil
    }
}

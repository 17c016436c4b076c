import Foundation

/// Small audio and video files built byte by byte, each with a known duration in its headers.
enum AudioFixtures {
    enum MP3Tag {
        case xing(frames: UInt32)
        case info(frames: UInt32)
        case vbri(frames: UInt32)
    }

    static func be16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
    static func be32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(value >> (24 - 8 * UInt32($0)) & 0xFF) } }
    static func be64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(value >> (56 - 8 * UInt64($0)) & 0xFF) } }
    static func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
    static func le32(_ value: UInt32) -> [UInt8] { be32(value).reversed() }
    static func le64(_ value: UInt64) -> [UInt8] { be64(value).reversed() }

    /// An ID3v2.3 tag of `padding` zero bytes (its size is four 7-bit bytes).
    static func id3v2(padding: Int) -> [UInt8] {
        Array("ID3".utf8) + [3, 0, 0] + [UInt8(padding >> 21 & 0x7F), UInt8(padding >> 14 & 0x7F), UInt8(padding >> 7 & 0x7F), UInt8(padding & 0x7F)]
            + [UInt8](repeating: 0, count: padding)
    }

    static func id3v1() -> [UInt8] { Array("TAG".utf8) + [UInt8](repeating: 0x20, count: 125) }

    /// `count` frames with the given header, zeros after it; the first carries `tag`. The
    /// defaults: MPEG-1 Layer III, 128 kbps, 44.1 kHz, stereo (417 bytes a frame, the Xing tag
    /// 4 + 32 bytes in); for MPEG-2 mono 64 kbps 22.05 kHz: 208 bytes, the tag 4 + 9 in.
    static func mp3Frames(_ count: Int, header: [UInt8] = [0xFF, 0xFB, 0x90, 0x00], tag: MP3Tag? = nil) -> [UInt8] {
        let mpeg1 = header[1] & 0x18 == 0x18
        let frameLength = mpeg1 ? 417 : 208
        let xingOffset = mpeg1 ? 36 : 13
        var first = header + [UInt8](repeating: 0, count: frameLength - 4)
        switch tag {
        case .xing(let frames): first.replaceSubrange(xingOffset..<(xingOffset + 12), with: Array("Xing".utf8) + be32(1) + be32(frames))
        case .info(let frames): first.replaceSubrange(xingOffset..<(xingOffset + 12), with: Array("Info".utf8) + be32(3) + be32(frames))
        case .vbri(let frames): first.replaceSubrange(36..<54, with: Array("VBRI".utf8) + be16(1) + be16(0) + be16(75) + be32(100_000) + be32(frames))
        case nil: break
        }
        let other = header + [UInt8](repeating: 0, count: frameLength - 4)
        return first + (1..<max(1, count)).flatMap { _ in other }
    }

    static func oggPage(serial: UInt32, granule: Int64, headerType: UInt8, body: [UInt8]) -> [UInt8] {
        var lacing: [UInt8] = Array(repeating: 255, count: body.count / 255)
        lacing.append(UInt8(body.count % 255))
        return Array("OggS".utf8) + [0, headerType] + le64(UInt64(bitPattern: granule)) + le32(serial) + le32(0) + le32(0)
            + [UInt8(lacing.count)] + lacing + body
    }

    /// Four pages of stream 7: the identification header, a comment page, a middle page and the last.
    static func ogg(identification: [UInt8], lastGranule: Int64) -> [UInt8] {
        oggPage(serial: 7, granule: 0, headerType: 0x02, body: identification)
            + oggPage(serial: 7, granule: 0, headerType: 0, body: Array("comments".utf8))
            + oggPage(serial: 7, granule: lastGranule / 2, headerType: 0, body: [UInt8](repeating: 0x55, count: 600))
            + oggPage(serial: 7, granule: lastGranule, headerType: 0x04, body: [UInt8](repeating: 0x66, count: 300))
    }

    static func vorbisIdentification(rate: UInt32) -> [UInt8] {
        [0x01] + Array("vorbis".utf8) + le32(0) + [2] + le32(rate) + le32(0) + le32(128_000) + le32(0) + [0xB8, 0x01]
    }

    static func opusHead(preSkip: Int, inputRate: UInt32) -> [UInt8] {
        Array("OpusHead".utf8) + [1, 2] + le16(preSkip) + le32(inputRate) + le16(0) + [0]
    }

    /// `fLaC` and a last-block STREAMINFO: 16-bit stereo at `rate`, `totalSamples` (36 bits).
    static func flac(rate: UInt64, totalSamples: UInt64) -> [UInt8] {
        let packed = rate << 44 | 1 << 41 | 15 << 36 | totalSamples
        let info = be16(4096) + be16(4096) + [0, 0, 0] + [0, 0, 0] + be64(packed) + [UInt8](repeating: 0xAB, count: 16)
        return Array("fLaC".utf8) + [0x80, 0, 0, 34] + info
    }

    /// An EBML element with an 8-byte size (or the unknown size).
    static func element(_ id: UInt32, _ body: [UInt8], unknownSize: Bool = false) -> [UInt8] {
        let idBytes = Array(be32(id).drop { $0 == 0 })
        let size: [UInt8] = unknownSize ? [0x01] + [UInt8](repeating: 0xFF, count: 7) : [0x01] + Array(be64(UInt64(body.count)).suffix(7))
        return idBytes + size + body
    }

    static func info(scale: UInt32? = nil, duration64: Double) -> [UInt8] {
        (scale.map { element(0x2A_D7B1, be32($0)) } ?? []) + element(0x4D80, Array("fixture".utf8)) + element(0x4489, be64(duration64.bitPattern))
    }

    static func info(scale: UInt32, duration32: Float) -> [UInt8] {
        element(0x2A_D7B1, be32(scale)) + element(0x4489, be32(duration32.bitPattern))
    }

    static func webm(info: [UInt8], segmentSizeKnown: Bool = true, seekHeadFirst: Bool = false) -> [UInt8] {
        let header = element(0x1A45_DFA3, element(0x4286, [1]) + element(0x4282, Array("webm".utf8)))
        let seekHead = seekHeadFirst ? element(0x114D_9B74, element(0x4DBB, element(0x53AB, [0x15, 0x49, 0xA9, 0x66]))) : []
        let body = seekHead + element(0x1549_A966, info) + element(0x1654_AE6B, element(0xAE, [0xD7, 0x81, 0x01]))
            + element(0x1F43_B675, element(0xE7, [0]))
        return header + element(0x1853_8067, body, unknownSize: !segmentSizeKnown)
    }
}

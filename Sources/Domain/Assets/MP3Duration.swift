import Foundation

/// MPEG audio (MP3) duration from frame headers: the Xing/Info or VBRI frame count when the first
/// frame carries one (VBR files), else constant bitrate from the first frame's bitrate and the
/// audio's size. Reads at most the ID3v2 tag's header, a 64 KiB window for the first frame, and
/// the last 128 bytes (ID3v1).
extension HeaderMetadata {
    /// How far past the ID3v2 tag the first frame is looked for.
    static let mp3SyncWindow = 64 * 1024

    static func mp3Duration(size: Int64, _ read: Read) throws -> Int64? {
        let start = try id3v2End(read)
        guard start >= 0, start < size else { return nil }
        let window = try read(start, mp3SyncWindow)
        guard let (position, frame) = firstFrame(in: window) else { return nil }
        let header = Array(window[position...].prefix(64))
        switch vbrFrameCount(header, frame: frame) {
        case .frames(let frames):
            return milliseconds(frames, times: Int64(frame.samplesPerFrame), per: Int64(frame.sampleRate))
        case .variableWithoutCount:
            // The bitrate varies, so the first frame's says nothing about the rest.
            return nil
        case .none:
            break
        }
        var audioBytes = size - start - Int64(position)
        if size >= 128, try read(size - 128, 3) == Array("TAG".utf8) { audioBytes -= 128 }
        guard audioBytes > 0 else { return nil }
        return milliseconds(audioBytes, times: 8, per: Int64(frame.bitrate))
    }

    /// Where an ID3v2 tag at the start ends (its size is four 7-bit bytes; a footer adds 10).
    private static func id3v2End(_ read: Read) throws -> Int64 {
        let head = try read(0, 10)
        guard head.count == 10, head[0...2] == [0x49, 0x44, 0x33] else { return 0 }
        let sizeBytes = head[6...9]
        guard sizeBytes.allSatisfy({ $0 < 0x80 }) else { return 0 }
        let tagSize = sizeBytes.reduce(Int64(0)) { $0 << 7 | Int64($1) }
        return 10 + tagSize + (head[5] & 0x10 != 0 ? 10 : 0)
    }

    struct MPEGFrame: Equatable {
        let isMPEG1: Bool
        let layer: Int
        let bitrate: Int
        let sampleRate: Int
        let padding: Int
        let mono: Bool

        var samplesPerFrame: Int { layer == 1 ? 384 : (layer == 3 && !isMPEG1 ? 576 : 1152) }
        var length: Int {
            layer == 1 ? (12 * bitrate / sampleRate + padding) * 4 : samplesPerFrame / 8 * bitrate / sampleRate + padding
        }
        /// Layer III side information, after which a Xing/Info tag sits.
        var sideInfoBytes: Int { isMPEG1 ? (mono ? 17 : 32) : (mono ? 9 : 17) }
    }

    /// kbps by [MPEG-1?][layer - 1][index]; index 0 (free format) and 15 (bad) are refused.
    private static let bitrates: [[[Int]]] = [
        [[0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
         [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
         [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]],
        [[0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
         [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
         [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]],
    ]

    /// A frame header at `i`, or nil when the four bytes are not one.
    static func mpegFrame(_ b: [UInt8], at i: Int) -> MPEGFrame? {
        guard i >= 0, i + 4 <= b.count, b[i] == 0xFF, b[i + 1] & 0xE0 == 0xE0 else { return nil }
        let version = Int(b[i + 1] >> 3) & 3
        let layerBits = Int(b[i + 1] >> 1) & 3
        let bitrateIndex = Int(b[i + 2] >> 4)
        let rateIndex = Int(b[i + 2] >> 2) & 3
        guard version != 1, layerBits != 0, (1...14).contains(bitrateIndex), rateIndex != 3 else { return nil }
        let isMPEG1 = version == 3
        let layer = 4 - layerBits
        let baseRates = [44_100, 48_000, 32_000]
        let sampleRate = baseRates[rateIndex] / (isMPEG1 ? 1 : (version == 2 ? 2 : 4))
        let bitrate = bitrates[isMPEG1 ? 1 : 0][layer - 1][bitrateIndex] * 1000
        return MPEGFrame(isMPEG1: isMPEG1, layer: layer, bitrate: bitrate, sampleRate: sampleRate,
                         padding: Int(b[i + 2] >> 1) & 1, mono: b[i + 3] >> 6 == 3)
    }

    /// The first frame header in the window that the next frame confirms (same version, layer and
    /// rate, where the window holds it), so stray 0xFF bytes in a tag are not taken for audio.
    private static func firstFrame(in window: [UInt8]) -> (Int, MPEGFrame)? {
        var i = 0
        while i + 4 <= window.count {
            if let frame = mpegFrame(window, at: i), frame.length >= 4 {
                let next = i + frame.length
                if next + 4 > window.count { return (i, frame) }
                if let following = mpegFrame(window, at: next), following.isMPEG1 == frame.isMPEG1,
                   following.layer == frame.layer, following.sampleRate == frame.sampleRate {
                    return (i, frame)
                }
            }
            i += 1
        }
        return nil
    }

    enum FrameCount: Equatable {
        case frames(Int64)
        /// A Xing or VBRI tag (variable bitrate) that does not give the count.
        case variableWithoutCount
    }

    /// The frame count of a Xing/Info tag (after the side information) or a VBRI tag (32 bytes
    /// after the header); nil without a tag, or for an Info tag (constant bitrate) without a count.
    private static func vbrFrameCount(_ frameBytes: [UInt8], frame: MPEGFrame) -> FrameCount? {
        let xing = 4 + frame.sideInfoBytes
        if frameBytes.count >= xing + 12 {
            let tag = Array(frameBytes[xing..<(xing + 4)])
            if tag == Array("Xing".utf8) || tag == Array("Info".utf8) {
                guard let flags = be32(frameBytes, xing + 4), flags & 1 != 0, let frames = be32(frameBytes, xing + 8), frames > 0 else {
                    return tag == Array("Xing".utf8) ? .variableWithoutCount : nil
                }
                return .frames(frames)
            }
        }
        let vbri = 4 + 32
        if frameBytes.count >= vbri + 18, Array(frameBytes[vbri..<(vbri + 4)]) == Array("VBRI".utf8) {
            guard let frames = be32(frameBytes, vbri + 14), frames > 0 else { return .variableWithoutCount }
            return .frames(frames)
        }
        return nil
    }

    /// `units × factor × 1000 / rate`, or nil on a zero rate or overflow.
    static func milliseconds(_ units: Int64, times factor: Int64, per rate: Int64) -> Int64? {
        guard units >= 0, factor > 0, rate > 0 else { return nil }
        let (scaled, overflow) = units.multipliedReportingOverflow(by: factor)
        let (total, overflow2) = scaled.multipliedReportingOverflow(by: 1000)
        guard !overflow, !overflow2 else { return nil }
        return total / rate
    }
}

import Foundation

/// FLAC duration: STREAMINFO's total samples over its sample rate (nil when the encoder left the
/// total unknown, 0). STREAMINFO is the first metadata block, so two small reads suffice; an
/// ID3v2 tag some taggers put before `fLaC` is skipped.
extension HeaderMetadata {
    static func flacDuration(size: Int64, _ read: Read) throws -> Int64? {
        var start: Int64 = 0
        let head = try read(0, 10)
        if head.count == 10, head[0...2] == [0x49, 0x44, 0x33], head[6...9].allSatisfy({ $0 < 0x80 }) {
            start = 10 + head[6...9].reduce(Int64(0)) { $0 << 7 | Int64($1) }
        }
        guard start < size else { return nil }
        let block = try read(start, 4 + 4 + 34)
        guard block.count == 42, Array(block[0...3]) == Array("fLaC".utf8), block[4] & 0x7F == 0,
              let length = be32(block, 4).map({ $0 & 0xFF_FFFF }), length >= 34 else { return nil }
        let info = Array(block[8...])
        let sampleRate = Int64(info[10]) << 12 | Int64(info[11]) << 4 | Int64(info[12]) >> 4
        let totalSamples = Int64(info[13] & 0x0F) << 32 | (be32(info, 14) ?? 0)
        guard sampleRate > 0, totalSamples > 0 else { return nil }
        return milliseconds(totalSamples, times: 1, per: sampleRate)
    }
}

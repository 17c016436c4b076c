import Foundation

/// Ogg (Vorbis or Opus) duration: the last page's granule position of the first logical stream,
/// in samples, over the sample rate (Vorbis: the identification header's; Opus: always 48 kHz,
/// less the pre-skip). Reads the first page and the file's last 64 KiB + one page header, since
/// a page is at most 65,307 bytes.
extension HeaderMetadata {
    static let oggTailBytes = 65_536 + 27 + 255

    static func oggDuration(size: Int64, _ read: Read) throws -> Int64? {
        let first = try read(0, 27 + 255 + 64)
        guard let page = oggPage(first, at: 0), page.headerType & 0x02 != 0 else { return nil }
        let packet = Array(first.dropFirst(page.headerLength).prefix(32))
        let rate: Int64
        var preSkip: Int64 = 0
        if packet.count >= 16, packet[0] == 0x01, Array(packet[1...6]) == Array("vorbis".utf8) {
            guard let sampleRate = le32(packet, 12), sampleRate > 0 else { return nil }
            rate = sampleRate
        } else if packet.count >= 12, Array(packet[0...7]) == Array("OpusHead".utf8) {
            guard let skip = le16(packet, 10) else { return nil }
            rate = 48_000
            preSkip = Int64(skip)
        } else {
            return nil
        }
        let tailStart = max(0, size - Int64(oggTailBytes))
        let tail = try read(tailStart, oggTailBytes)
        // The last page of this stream with a granule position (-1 means no packet ends on it).
        var index = tail.count - 27
        while index >= 0 {
            if let last = oggPage(tail, at: index), last.serial == page.serial, last.granule >= 0 {
                guard last.granule >= preSkip else { return nil }
                return milliseconds(last.granule - preSkip, times: 1, per: rate)
            }
            index -= 1
        }
        return nil
    }

    struct OggPage {
        let headerType: UInt8
        /// Negative when the page says -1 (or has the top bit set, which no real stream reaches).
        let granule: Int64
        let serial: Int64
        let headerLength: Int
    }

    /// A page header at `i` ("OggS", version 0, its segment table within the bytes).
    static func oggPage(_ b: [UInt8], at i: Int) -> OggPage? {
        guard i >= 0, i + 27 <= b.count, b[i] == 0x4F, b[i + 1] == 0x67, b[i + 2] == 0x67, b[i + 3] == 0x53, b[i + 4] == 0,
              let low = le32(b, i + 6), let high = le32(b, i + 10), let serial = le32(b, i + 14) else { return nil }
        let segments = Int(b[i + 26])
        guard i + 27 + segments <= b.count else { return nil }
        let granule = high >= 0x8000_0000 ? -1 : high << 32 | low
        return OggPage(headerType: b[i + 5], granule: granule, serial: serial, headerLength: 27 + segments)
    }
}

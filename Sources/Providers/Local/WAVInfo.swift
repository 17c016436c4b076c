import Foundation

/// Reads a RIFF/WAVE header: enough to report an audio file's duration.
struct WAVInfo: Equatable {
    let channels: Int
    let sampleRate: Int
    let bitsPerSample: Int
    let dataOffset: Int
    let dataLength: Int

    var durationSeconds: Double {
        let bytesPerSecond = sampleRate * channels * max(1, bitsPerSample / 8)
        return bytesPerSecond > 0 ? Double(dataLength) / Double(bytesPerSecond) : 0
    }

    static func parse(_ bytes: [UInt8]) -> WAVInfo? {
        guard bytes.count >= 12, Array(bytes[0..<4]) == Array("RIFF".utf8), Array(bytes[8..<12]) == Array("WAVE".utf8) else {
            return nil
        }
        func le32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        func le16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        var offset = 12
        var format: (channels: Int, rate: Int, bits: Int)?
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            var size = le32(offset + 4)
            let body = offset + 8
            if id == "fmt ", body + 16 <= bytes.count {
                format = (le16(body + 2), le32(body + 4), le16(body + 14))
            } else if id == "data", let format {
                // espeak-ng writing to a pipe leaves the size unset (0 or 0xFFFFFFFF); use what is there.
                if size == 0 || size == 0xFFFF_FFFF || body + size > bytes.count { size = bytes.count - body }
                return WAVInfo(channels: format.channels, sampleRate: format.rate, bitsPerSample: format.bits,
                               dataOffset: body, dataLength: size)
            }
            offset = body + size + (size & 1)
        }
        return nil
    }
}

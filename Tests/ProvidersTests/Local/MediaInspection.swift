import Foundation
import XCTest

/// Just enough container parsing to check that generated media are real.
enum MediaInspection {
    struct PNG {
        let width: Int
        let height: Int
        let colourType: UInt8
        let chunkTypes: [String]
        /// The zlib stream inflated (stored blocks only), or nil if it is not stored-deflate.
        let rawScanlines: [UInt8]?
    }

    static func be32(_ bytes: [UInt8], _ at: Int) -> Int {
        Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
    }

    /// Parses chunks, checking each CRC, and unpacks the stored deflate blocks with their Adler-32.
    static func png(_ bytes: [UInt8]) -> PNG? {
        guard bytes.count > 33, Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { return nil }
        var offset = 8
        var types: [String] = []
        var idat: [UInt8] = []
        var width = 0, height = 0
        var colour: UInt8 = 0
        while offset + 12 <= bytes.count {
            let length = be32(bytes, offset)
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            guard offset + 12 + length <= bytes.count else { return nil }
            let payload = Array(bytes[offset + 8..<offset + 8 + length])
            let crc = UInt32(be32(bytes, offset + 8 + length))
            guard crc == crc32(Array(bytes[offset + 4..<offset + 8]) + payload) else { return nil }
            types.append(type)
            if type == "IHDR" {
                width = be32(payload, 0)
                height = be32(payload, 4)
                colour = payload[9]
            }
            if type == "IDAT" { idat += payload }
            offset += 12 + length
        }
        return PNG(width: width, height: height, colourType: colour, chunkTypes: types, rawScanlines: inflateStored(idat))
    }

    static func inflateStored(_ zlib: [UInt8]) -> [UInt8]? {
        guard zlib.count >= 6, (Int(zlib[0]) << 8 | Int(zlib[1])) % 31 == 0 else { return nil }
        var offset = 2
        var out: [UInt8] = []
        while true {
            guard offset + 5 <= zlib.count else { return nil }
            let header = zlib[offset]
            guard header & 0b110 == 0 else { return nil }
            let length = Int(zlib[offset + 1]) | Int(zlib[offset + 2]) << 8
            let complement = Int(zlib[offset + 3]) | Int(zlib[offset + 4]) << 8
            guard length ^ 0xFFFF == complement, offset + 5 + length <= zlib.count else { return nil }
            out += zlib[offset + 5..<offset + 5 + length]
            offset += 5 + length
            if header & 1 == 1 { break }
        }
        guard offset + 4 == zlib.count, UInt32(be32(zlib, offset)) == adler32(out) else { return nil }
        return out
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return b << 16 | a
    }

    /// The handler types of the tracks in an MP4 (`vide`, `soun`), found by walking
    /// moov → trak → mdia → hdlr.
    static func mp4TrackHandlers(_ bytes: [UInt8]) -> [String] {
        var handlers: [String] = []
        func walk(_ start: Int, _ end: Int) {
            var offset = start
            while offset + 8 <= end {
                var size = be32(bytes, offset)
                let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
                var header = 8
                if size == 1, offset + 16 <= end {
                    size = be32(bytes, offset + 12)
                    header = 16
                } else if size == 0 {
                    size = end - offset
                }
                guard size >= header, offset + size <= end else { return }
                if ["moov", "trak", "mdia"].contains(type) { walk(offset + header, offset + size) }
                if type == "hdlr", offset + header + 12 <= end {
                    handlers.append(String(decoding: bytes[offset + header + 8..<offset + header + 12], as: UTF8.self))
                }
                offset += size
            }
        }
        walk(0, bytes.count)
        return handlers
    }

    static func mp4Brand(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 12, String(decoding: bytes[4..<8], as: UTF8.self) == "ftyp" else { return nil }
        return String(decoding: bytes[8..<12], as: UTF8.self)
    }
}

/// A tool a test needs. scripts/test.sh installs espeak-ng and ffmpeg, so a missing one is a
/// failure (thrown, so the test stops there), never a skip that would hide the untested feature.
struct MissingTool: Error, CustomStringConvertible {
    let name: String
    var description: String { "\(name) is not on PATH; install it (apt-get install -y \(name)) or run scripts/test.sh, which does" }
}

func requireTool(_ name: String) throws {
    let found = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .contains { access("\($0)/\(name)", X_OK) == 0 }
    guard found else { throw MissingTool(name: name) }
}

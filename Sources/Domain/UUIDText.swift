import Foundation

extension UUID {
    /// The canonical lowercase text (8-4-4-4-12) the API writes for every id, formatted from the
    /// sixteen bytes: `uuidString.lowercased()` went through `snprintf` and then copied the text again,
    /// ~5 % of the server's time on a list read (BENCHMARKS.md, "Reads").
    public var lowercasedString: String {
        withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { text in
                var index = 0
                for (position, byte) in bytes.enumerated() {
                    if position == 4 || position == 6 || position == 8 || position == 10 {
                        text[index] = UInt8(ascii: "-")
                        index += 1
                    }
                    text[index] = Self.hexDigit(byte >> 4)
                    text[index + 1] = Self.hexDigit(byte & 0x0F)
                    index += 2
                }
                return index
            }
        }
    }

    @inline(__always)
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    /// The canonical `8-4-4-4-12` hexadecimal text, either case; nil for anything else. Foundation's
    /// `UUID(uuidString:)` reads it through `sscanf`, about 9,000 instructions an id (twice on every
    /// generation's path), and also takes a blank or a sign before a pair of digits: callers that
    /// keep that leniency fall back to it.
    public init?(canonicalText text: String) {
        var text = text
        guard let value = text.withUTF8({ UUID(canonicalBytes: $0) }) else { return nil }
        self = value
    }

    /// Any text Foundation's `UUID(uuidString:)` reads, the canonical form without it.
    public init?(readingText text: String) {
        guard let value = UUID(canonicalText: text) ?? UUID(uuidString: text) else { return nil }
        self = value
    }

    /// `init(canonicalText:)` on the text's bytes. Branch-light: a page of rows reads one or two
    /// per row, and the digit-by-digit optional checks were most of its decoding.
    public init?(canonicalBytes bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 36, let text = bytes.baseAddress else { return nil }
        let dash = UInt8(ascii: "-")
        guard text[8] == dash, text[13] == dash, text[18] == dash, text[23] == dash else { return nil }
        var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var invalid: UInt8 = 0
        withUnsafeMutableBytes(of: &value) { out in
            var index = 0
            for position in 0..<16 {
                if index == 8 || index == 13 || index == 18 || index == 23 { index += 1 }
                let high = Self.hexValue(text[index])
                let low = Self.hexValue(text[index + 1])
                invalid |= high | low
                out[position] = high << 4 | low & 0x0F
                index += 2
            }
        }
        guard invalid & 0xF0 == 0 else { return nil }
        self.init(uuid: value)
    }

    /// A hexadecimal digit's value, or a value above 0x0F for any other byte. Without branches:
    /// ids are random, so a branch on digit-or-letter was mispredicted for about every other one.
    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> UInt8 {
        let isDigit: UInt8 = byte &- UInt8(ascii: "0") < 10 ? 1 : 0
        // Setting 0x20 maps exactly `A`…`F` onto `a`…`f`.
        let isLetter: UInt8 = (byte | 0x20) &- UInt8(ascii: "a") < 6 ? 1 : 0
        // `0`…`9` are 0x30…0x39, letters 0x41…0x46 and 0x61…0x66: the low nibble, plus 9 for a letter.
        let value = (byte & 0x0F) &+ 9 &* (byte >> 6)
        return value | (1 &- (isDigit | isLetter)) << 4
    }
}

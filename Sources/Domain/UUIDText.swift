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
}

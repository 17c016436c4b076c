/// Lowercase hexadecimal of bytes: digests in keys, ETags and signatures, `bytea` input.
/// One loop over a digit table instead of `String(format: "%02x")` per byte, which goes through
/// Foundation's formatter for every byte.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text = [UInt8]()
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

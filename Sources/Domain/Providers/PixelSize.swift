/// The one reader of `WIDTHxHEIGHT` sizes (`1024x1536`), shared by quotes, pricing imports and
/// provider answers so that they agree on what a size is.
public enum PixelSize {
    /// Each side is 1–6 ASCII digits within `1...maximumSide`; the separator is `x` or `X`.
    /// Signs, spaces and anything else are refused, so `Int`'s leniency (`+5`) cannot leak in.
    public static func parse(_ text: String, maximumSide: Int) -> (width: Int, height: Int)? {
        let bytes = Array(text.utf8)
        guard bytes.count <= 13,
              let separator = bytes.firstIndex(where: { $0 == UInt8(ascii: "x") || $0 == UInt8(ascii: "X") }),
              let width = side(bytes[..<separator], maximumSide),
              let height = side(bytes[(separator + 1)...], maximumSide)
        else { return nil }
        return (width, height)
    }

    private static func side(_ digits: ArraySlice<UInt8>, _ maximum: Int) -> Int? {
        guard (1...6).contains(digits.count) else { return nil }
        var value = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return (1...maximum).contains(value) ? value : nil
    }
}

/// `trimmingCharacters(in: .whitespaces)` without Foundation: the configuration is read before
/// anything else runs, and Foundation's version bridges to NSString and CoreFoundation's character
/// sets, whose code then stays resident in a server that never trims again (BENCHMARKS.md,
/// "Footprint"). The set is CoreFoundation's `whitespaces` exactly (tab, the space separators and
/// U+200B), which `WhitespaceTrimmingTests` checks against Foundation for every BMP scalar.
extension StringProtocol {
    var trimmingWhitespaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.isFoundationWhitespace }),
              let last = scalars.lastIndex(where: { !$0.isFoundationWhitespace })
        else { return "" }
        var trimmed = String.UnicodeScalarView()
        trimmed.append(contentsOf: scalars[first...last])
        return String(trimmed)
    }
}

extension Unicode.Scalar {
    var isFoundationWhitespace: Bool {
        switch value {
        case 0x09, 0x20, 0xA0, 0x1680, 0x2000...0x200B, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }
}

extension String {
    /// Whether `needle` (non-empty) occurs in the UTF-8 bytes: `contains(_:)` with a string argument
    /// resolves to Foundation's, which bridges to NSString and CoreFoundation's search.
    func containsBytes(of needle: String) -> Bool {
        let text = Array(utf8), pattern = Array(needle.utf8)
        guard !pattern.isEmpty, pattern.count <= text.count else { return false }
        return (0...(text.count - pattern.count)).contains { text[$0..<($0 + pattern.count)].elementsEqual(pattern) }
    }
}

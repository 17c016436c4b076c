/// The character classes the split patterns use, per Unicode scalar, as bit flags:
/// `\p{L}` (general category L*), `\p{N}` (N*), `\s` (the White_Space property, which is what
/// the Rust `regex` crate behind tiktoken means by `\s` in Unicode mode) and `[\r\n]`; and
/// o200k's two word classes, `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]` and `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`
/// (caseless letters and combining marks belong to both).
///
/// Written once when first used and read-only afterwards, hence `@unchecked Sendable`.
final class ScalarClasses: @unchecked Sendable {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    static let newline: UInt8 = 8
    static let upperOrCaseless: UInt8 = 16
    static let lowerOrCaseless: UInt8 = 32

    static let shared = ScalarClasses()

    /// Precomputed for the first four planes (BMP, SMP, SIP, TIP), where nearly all text lives;
    /// the rest is classified on demand.
    private static let tableLimit: UInt32 = 0x40000
    private let table: UnsafeMutablePointer<UInt8>

    private init() {
        table = .allocate(capacity: Int(Self.tableLimit))
        for value in 0..<Self.tableLimit {
            table[Int(value)] = Self.classify(value)
        }
    }

    deinit { table.deallocate() }

    @inline(__always)
    func classes(of value: UInt32) -> UInt8 {
        value < Self.tableLimit ? table[Int(value)] : Self.classify(value)
    }

    static func classify(_ value: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        var flags: UInt8 = 0
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .titlecaseLetter:
            flags |= letter | upperOrCaseless
        case .lowercaseLetter:
            flags |= letter | lowerOrCaseless
        case .modifierLetter, .otherLetter:
            flags |= letter | upperOrCaseless | lowerOrCaseless
        case .nonspacingMark, .spacingMark, .enclosingMark:
            flags |= upperOrCaseless | lowerOrCaseless
        case .decimalNumber, .letterNumber, .otherNumber:
            flags |= number
        default:
            break
        }
        if scalar.properties.isWhitespace { flags |= whitespace }
        if value == 0x0A || value == 0x0D { flags |= newline }
        return flags
    }
}

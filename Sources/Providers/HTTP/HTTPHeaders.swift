import Foundation

/// Header fields in arrival order with case-insensitive lookup (HTTP names are case-insensitive,
/// and providers differ: `Retry-After` vs `retry-after`).
public struct HTTPHeaders: Sendable, Equatable {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}

    public init(_ fields: [(String, String)]) {
        for (name, value) in fields { append(name, value) }
    }

    public mutating func append(_ name: String, _ value: String) {
        fields.append((name, value))
    }

    /// The first value for `name`.
    public subscript(name: String) -> String? {
        fields.first { Self.sameName($0.name, name) }?.value
    }

    public func values(_ name: String) -> [String] {
        fields.filter { Self.sameName($0.name, name) }.map(\.value)
    }

    /// Fields whose name starts with `prefix` (`x-ratelimit-`, `anthropic-ratelimit-`), names lowercased.
    public func withPrefix(_ prefix: String) -> [String: String] {
        withAnyPrefix([prefix.lowercased()])
    }

    /// Rate-limit headers of any provider: OpenAI/OpenRouter `x-ratelimit-*`, Anthropic
    /// `anthropic-ratelimit-*`, and the IETF draft's `ratelimit-*`.
    ///
    /// One pass over the fields (every provider answer is read for these): the three prefixes
    /// cannot name the same field, so this is the three `withPrefix` results together.
    public var rateLimits: [String: String] {
        withAnyPrefix(Self.rateLimitPrefixes)
    }

    private static let rateLimitPrefixes = ["x-ratelimit-", "anthropic-ratelimit-", "ratelimit-"]

    /// Fields whose name starts with any of `lowercasePrefixes`, names lowercased; of two fields with
    /// one name, the later one's value.
    private func withAnyPrefix(_ lowercasePrefixes: [String]) -> [String: String] {
        var result: [String: String] = [:]
        for field in fields where lowercasePrefixes.contains(where: { Self.startsWith(field.name, $0) }) {
            result[field.name.lowercased()] = field.value
        }
        return result
    }

    /// Names are compared ignoring case. Header names are ASCII tokens, compared byte by byte here
    /// with ASCII case folded (Foundation's comparison and a lowercased copy of every name cost a
    /// twentieth of a chat completion's instructions in the server); any other text is compared as
    /// it always was.
    static func sameName(_ name: String, _ other: String) -> Bool {
        var (name, other) = (name, other)
        let equal = name.withUTF8 { left in
            other.withUTF8 { right -> Bool? in
                guard left.count == right.count else {
                    return left.allSatisfy({ $0 < 0x80 }) && right.allSatisfy({ $0 < 0x80 }) ? false : nil
                }
                return asciiEqualIgnoringCase(left, right, count: left.count)
            }
        }
        return equal ?? (name.caseInsensitiveCompare(other) == .orderedSame)
    }

    /// Whether `name`, lowercased, starts with `lowercasePrefix`.
    static func startsWith(_ name: String, _ lowercasePrefix: String) -> Bool {
        // Most names differ from a prefix in their first byte: when that byte is ASCII in both, it
        // decides without the scan below (a name's other bytes cannot make it start with the prefix).
        if let first = name.utf8.first, let wanted = lowercasePrefix.utf8.first, first < 0x80, wanted < 0x80,
           folded(first) != wanted {
            return false
        }
        var (name, prefix) = (name, lowercasePrefix)
        let starts = name.withUTF8 { bytes in
            prefix.withUTF8 { prefix -> Bool? in
                guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
                guard bytes.count >= prefix.count else { return false }
                return asciiEqualIgnoringCase(bytes, prefix, count: prefix.count)
            }
        }
        return starts ?? name.lowercased().hasPrefix(lowercasePrefix)
    }

    /// Whether the first `count` bytes of both (each at least that long) are equal with ASCII case
    /// folded; nil when a byte outside ASCII is met.
    private static func asciiEqualIgnoringCase(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>,
                                               count: Int) -> Bool? {
        guard left.count >= count, right.count >= count else { return nil }
        var equal = true
        for index in 0..<count {
            let (a, b) = (left[index], right[index])
            guard a < 0x80, b < 0x80 else { return nil }
            if folded(a) != folded(b) { equal = false }
        }
        return equal
    }

    @inline(__always)
    private static func folded(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

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
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }

    /// Fields whose name starts with `prefix` (`x-ratelimit-`, `anthropic-ratelimit-`), names lowercased.
    public func withPrefix(_ prefix: String) -> [String: String] {
        var result: [String: String] = [:]
        for field in fields where field.name.lowercased().hasPrefix(prefix.lowercased()) {
            result[field.name.lowercased()] = field.value
        }
        return result
    }

    /// Rate-limit headers of any provider: OpenAI/OpenRouter `x-ratelimit-*`, Anthropic
    /// `anthropic-ratelimit-*`, and the IETF draft's `ratelimit-*`.
    public var rateLimits: [String: String] {
        withPrefix("x-ratelimit-").merging(withPrefix("anthropic-ratelimit-")) { first, _ in first }
            .merging(withPrefix("ratelimit-")) { first, _ in first }
    }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

import Foundation

/// An RFC 9110 entity tag: `"opaque"` (strong) or `W/"opaque"` (weak).
public struct EntityTag: Sendable, Equatable {
    public let opaque: String
    public let isWeak: Bool

    public init(_ opaque: String, weak: Bool = false) {
        self.opaque = opaque
        self.isWeak = weak
    }

    /// The header form.
    public var header: String { (isWeak ? "W/" : "") + "\"" + opaque + "\"" }

    /// Strong comparison (RFC 9110 §8.8.3.2): both strong and the same characters.
    public func strongMatches(_ other: EntityTag) -> Bool {
        !isWeak && !other.isWeak && opaque == other.opaque
    }
}

/// A parsed `If-Match` header: `*`, or a list of entity tags (`"a", W/"b"`).
public enum IfMatch: Sendable, Equatable {
    case any
    case tags([EntityTag])

    /// The header does not follow RFC 9110's grammar; the API answers 400.
    public struct Malformed: Error, Sendable {}

    /// nil when the header is absent.
    public static func parse(_ header: String?) throws(Malformed) -> IfMatch? {
        guard let header else { return nil }
        let text = header.trimmingCharacters(in: .whitespaces)
        if text == "*" { return .any }
        var tags: [EntityTag] = []
        var rest = Substring(text)
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" }
            let weak = rest.hasPrefix("W/")
            if weak { rest = rest.dropFirst(2) }
            guard rest.first == "\"" else { throw Malformed() }
            rest = rest.dropFirst()
            guard let close = rest.firstIndex(of: "\"") else { throw Malformed() }
            let opaque = rest[..<close]
            // etagc = %x21 / %x23-7E / obs-text: no spaces, controls or quotes inside.
            guard opaque.unicodeScalars.allSatisfy({ $0.value == 0x21 || (0x23...0x7E).contains($0.value) || $0.value >= 0x80 }) else {
                throw Malformed()
            }
            tags.append(EntityTag(String(opaque), weak: weak))
            rest = rest[rest.index(after: close)...].drop { $0 == " " || $0 == "\t" }
            if rest.isEmpty { break }
            guard rest.first == "," else { throw Malformed() }
            rest = rest.dropFirst()
        }
        guard !tags.isEmpty, tags.count <= 64 else { throw Malformed() }
        return .tags(tags)
    }

    /// Whether a resource whose current tag is `current` satisfies the condition.
    public func isSatisfied(by current: EntityTag) -> Bool {
        switch self {
        case .any: true
        case .tags(let tags): tags.contains { $0.strongMatches(current) }
        }
    }
}

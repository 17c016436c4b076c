/// A statement whose values can only travel as bound parameters.
///
/// Every `\(value)` in a literal becomes `$n` in the text and a parameter beside it, so user data
/// never becomes SQL text. Fragments compose with `\(fragment)` (their parameters are renumbered).
/// The one escape hatch is spelled `SQL(unsafeRaw:)` so that review can find every use.
public struct SQL: Sendable, ExpressibleByStringInterpolation {
    enum Part: Sendable {
        case text(String)
        case parameter(String?)
    }

    private(set) var parts: [Part]

    public init(stringLiteral value: String) {
        parts = [.text(value)]
    }

    public init(stringInterpolation: StringInterpolation) {
        parts = stringInterpolation.parts
    }

    /// Text that is trusted to be SQL (identifiers we own, migration files). Never user data.
    public init(unsafeRaw text: String) {
        parts = [.text(text)]
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var parts: [Part] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            parts.reserveCapacity(interpolationCount * 2 + 1)
        }

        public mutating func appendLiteral(_ literal: String) {
            parts.append(.text(literal))
        }

        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            parts.append(.parameter(value.postgresText))
        }

        /// NULL when nil; spelled out so optionals bind without a debug-description warning.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            parts.append(.parameter(value?.postgresText ?? nil))
        }

        public mutating func appendInterpolation(_ fragment: SQL) {
            parts.append(contentsOf: fragment.parts)
        }
    }

    /// The statement text with `$1…$n` placeholders and the parameters in order.
    public func render() -> (text: String, parameters: [String?]) {
        // Sized first: a list statement is a kilobyte of text in a dozen parts, appended per request.
        var length = 0
        var count = 0
        for part in parts {
            switch part {
            case .text(let literal): length += literal.utf8.count
            case .parameter: count += 1
            }
        }
        var text = ""
        text.reserveCapacity(length + 4 * count)
        var parameters: [String?] = []
        parameters.reserveCapacity(count)
        for part in parts {
            switch part {
            case .text(let literal):
                text += literal
            case .parameter(let value):
                parameters.append(value)
                text += Self.placeholder(parameters.count)
            }
        }
        return (text, parameters)
    }

    /// `$1` … `$64` made once: an interpolated `"$\(n)"` per parameter was a third of `render`'s
    /// instructions, and a chat completion's statements bind dozens of parameters.
    private static let placeholders = (0...64).map { "$\($0)" }

    private static func placeholder(_ number: Int) -> String {
        number < placeholders.count ? placeholders[number] : "$\(number)"
    }

    public static func + (lhs: SQL, rhs: SQL) -> SQL {
        var joined = lhs
        joined.parts.append(contentsOf: rhs.parts)
        return joined
    }
}

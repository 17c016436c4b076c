import Foundation

/// A JSON document that keeps numbers as the text the provider sent.
///
/// Money must stay exact (DESIGN.md): OpenRouter's `usage.cost` of `0.0000047` read through
/// `Double` is already off in the last digits. Keeping the literal lets `decimal` build a
/// `Decimal` straight from it. Objects keep key order so request bodies are deterministic.
public enum WireJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([WireJSON])
    case object(WireJSONObject)

    public subscript(key: String) -> WireJSON? {
        if case let .object(object) = self { return object[key] }
        return nil
    }

    public subscript(index: Int) -> WireJSON? {
        if case let .array(items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    public var string: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    public var bool: Bool? {
        if case let .bool(value) = self { return value }
        return nil
    }

    /// Integer value; also accepts integral numbers written with a fraction or exponent (`5.0`).
    public var int: Int? {
        guard case let .number(text) = self else { return nil }
        if let exact = Int(text) { return exact }
        guard let decimal = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        var rounded = Decimal()
        var source = decimal
        NSDecimalRound(&rounded, &source, 0, .plain)
        guard rounded == decimal else { return nil }
        return NSDecimalNumber(decimal: rounded).intValue
    }

    /// Exact decimal from the number's text; also accepts a decimal string (`"0.0000025"`), the
    /// way OpenRouter writes prices.
    public var decimal: Decimal? {
        switch self {
        case let .number(text), let .string(text):
            return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
        default:
            return nil
        }
    }

    /// For values that are not money (progress fractions, timings).
    public var double: Double? {
        if case let .number(text) = self { return Double(text) }
        return nil
    }

    public var array: [WireJSON]? {
        if case let .array(items) = self { return items }
        return nil
    }

    public var object: WireJSONObject? {
        if case let .object(object) = self { return object }
        return nil
    }

    public var isNull: Bool { self == .null }

    public static func int(_ value: Int) -> WireJSON { .number(String(value)) }

    public static func decimal(_ value: Decimal) -> WireJSON {
        .number(NSDecimalNumber(decimal: value).description(withLocale: Locale(identifier: "en_US_POSIX")))
    }
}

/// A JSON object with its keys in insertion order. Assigning nil removes a key, which keeps
/// request builders free of `if let` ladders for optional fields. Lookups go through an index,
/// so a body with many members costs linear time to read, not quadratic.
public struct WireJSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var entries: [(key: String, value: WireJSON)] = []
    /// Each member's position, kept only once the object has more than `scannedUpTo` members: a
    /// smaller one is searched member by member, which costs less than hashing its names (the
    /// objects of a request, a provider's answer and a generation's columns have a handful each, and
    /// building their tables was a twentieth of a chat completion's instructions in the server). The
    /// table keeps a large object's parse linear, whoever sent it.
    private var positions: [String: Int]?
    public static let scannedUpTo = 16

    public init() {}

    public init(_ entries: [(String, WireJSON?)]) {
        for (key, value) in entries { self[key] = value }
    }

    public init(dictionaryLiteral elements: (String, WireJSON)...) {
        for (key, value) in elements { self[key] = value }
    }

    /// The members `isIncluded` keeps, in their order.
    public func filter(_ isIncluded: (String) -> Bool) -> WireJSONObject {
        WireJSONObject(entries.filter { isIncluded($0.key) }.map { ($0.key, Optional($0.value)) })
    }

    private func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        return entries.firstIndex { $0.key == key }
    }

    public subscript(key: String) -> WireJSON? {
        get { position(of: key).map { entries[$0].value } }
        set {
            if let index = position(of: key) {
                if let newValue {
                    entries[index].value = newValue
                } else {
                    entries.remove(at: index)
                    if positions != nil {
                        positions?[key] = nil
                        for later in index..<entries.count { positions?[entries[later].key] = later }
                    }
                }
            } else if let newValue {
                entries.append((key, newValue))
                if positions != nil {
                    positions?[key] = entries.count - 1
                } else if entries.count > Self.scannedUpTo {
                    var table: [String: Int] = [:]
                    table.reserveCapacity(entries.count * 2)
                    for (index, entry) in entries.enumerated() { table[entry.key] = index }
                    positions = table
                }
            }
        }
    }

    public var keys: [String] { entries.map(\.key) }
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public func makeIterator() -> IndexingIterator<[(key: String, value: WireJSON)]> {
        entries.makeIterator()
    }

    public static func == (lhs: WireJSONObject, rhs: WireJSONObject) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension WireJSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: WireJSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, WireJSON)...) {
        self = .object(WireJSONObject(elements.map { ($0.0, Optional($0.1)) }))
    }
    public init(nilLiteral: ()) { self = .null }
}

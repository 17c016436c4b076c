import Foundation

/// JSON the fake writes: keys keep their order and numbers are written from text, so answers
/// look like the providers' own (`"cost":0.0000047`, never `4.7e-06`).
indirect enum JSONValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .number(String(value)) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }

    static func int(_ value: Int) -> JSONValue { .number(String(value)) }
    static func decimal(_ value: Decimal) -> JSONValue {
        .number(NSDecimalNumber(decimal: value).description(withLocale: Locale(identifier: "en_US_POSIX")))
    }
    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }

    var data: Data { Data(text.utf8) }

    var text: String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(value): out += value ? "true" : "false"
        case let .number(text): out += text
        case let .string(text): Self.writeString(text, into: &out)
        case let .array(items):
            out += "["
            for (offset, item) in items.enumerated() {
                if offset > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case let .object(entries):
            out += "{"
            for (offset, entry) in entries.enumerated() {
                if offset > 0 { out += "," }
                Self.writeString(entry.0, into: &out)
                out += ":"
                entry.1.write(into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// A parsed request body. Only what the fake reads is offered, and every read is optional:
/// garbage in a request is answered, never trusted.
enum RequestJSON: Sendable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([RequestJSON])
    case object([String: RequestJSON])

    /// Deeper nesting than this is refused before parsing: the decoder recurses, and a body of
    /// a million `[` must not take the process down.
    static let maximumDepth = 64

    static func parse(_ data: Data) -> RequestJSON? {
        guard !data.isEmpty, nestingDepth(data) <= maximumDepth else { return nil }
        return try? JSONDecoder().decode(RequestJSON.self, from: data)
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([RequestJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: RequestJSON].self))
        }
    }

    /// The deepest bracket nesting outside strings; a quick byte scan.
    static func nestingDepth(_ data: Data) -> Int {
        var depth = 0, deepest = 0
        var inString = false, escaped = false
        for byte in data {
            if inString {
                if escaped { escaped = false } else if byte == 0x5C { escaped = true } else if byte == 0x22 { inString = false }
                continue
            }
            switch byte {
            case 0x22: inString = true
            case 0x5B, 0x7B:
                depth += 1
                deepest = max(deepest, depth)
                if deepest > maximumDepth { return deepest }
            case 0x5D, 0x7D: depth -= 1
            default: break
            }
        }
        return deepest
    }

    subscript(_ key: String) -> RequestJSON? {
        guard case let .object(entries) = self, let value = entries[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    var array: [RequestJSON]? {
        if case let .array(items) = self { return items }
        return nil
    }

    var string: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    var bool: Bool? {
        if case let .bool(value) = self { return value }
        return nil
    }

    /// A whole number within `range`, from a JSON number or a numeric string ("5", as Kling
    /// takes durations); anything else, including 1e300, is nil.
    func int(in range: ClosedRange<Int>) -> Int? {
        let double: Double?
        switch self {
        case let .number(value): double = value
        case let .string(text): double = Double(text)
        default: double = nil
        }
        guard let double, double.isFinite, double.rounded() == double,
              double >= Double(range.lowerBound), double <= Double(range.upperBound) else { return nil }
        return Int(double)
    }

    /// Every string anywhere inside, for token counts over message lists.
    var allStrings: [String] {
        var found: [String] = []
        var stack: [RequestJSON] = [self]
        while let next = stack.popLast() {
            switch next {
            case let .string(text): found.append(text)
            case let .array(items): stack.append(contentsOf: items.reversed())
            case let .object(entries): stack.append(contentsOf: entries.keys.sorted().reversed().compactMap { entries[$0] })
            default: break
            }
        }
        return found
    }
}

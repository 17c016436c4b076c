/// A JSON value, for JWT claims whose shape is not fixed (`app_metadata`, `user_metadata`,
/// claims this module has no field for).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

/// A strict RFC 8259 parser for untrusted token segments.
///
/// Written here rather than taken from Foundation because a JWT verifier must see things that
/// `JSONSerialization` hides or tolerates: it silently keeps one of two duplicate keys (RFC 7515
/// §5.2 and RFC 7519 §4 require rejecting or at least not guessing), and its leniencies differ
/// between platforms. This one rejects duplicate keys at any depth, invalid UTF-8, lone
/// surrogates, control characters in strings, non-finite numbers, trailing data, and nesting
/// deeper than `maximumDepth` (so hostile input cannot exhaust the stack).
struct JSONParser {
    struct Failure: Error, Equatable {}

    static let maximumDepth = 32

    private let bytes: [UInt8]
    private var index = 0

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw Failure() }
        return value
    }

    /// Parses an object at top level, which is all a JOSE header or a claims set may be.
    static func parseObject(_ bytes: [UInt8]) throws -> [String: JSONValue] {
        guard case .object(let members) = try parse(bytes) else { throw Failure() }
        return members
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
            index += 1
        }
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard current == byte else { throw Failure() }
        index += 1
    }

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        guard depth <= Self.maximumDepth, let byte = current else { throw Failure() }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        default: return .number(try parseNumber())
        }
    }

    private mutating func parseLiteral(_ literal: StaticString) throws {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Failure() }
        let matches = literal.withUTF8Buffer { expected in
            bytes[index..<index + count].elementsEqual(expected)
        }
        guard matches else { throw Failure() }
        index += count
    }

    private mutating func parseObject(depth: Int) throws -> JSONValue {
        try expect(UInt8(ascii: "{"))
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            let value = try parseValue(depth: depth)
            // Swift compares strings by canonical equivalence, so "K" and KELVIN SIGN count as
            // the same key here: a stricter rule than byte equality, and rejecting is the safe side.
            guard members.updateValue(value, forKey: key) == nil else { throw Failure() }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(members)
            default: throw Failure()
            }
        }
    }

    private mutating func parseArray(depth: Int) throws -> JSONValue {
        try expect(UInt8(ascii: "["))
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: throw Failure()
            }
        }
    }

    private mutating func parseString() throws -> String {
        try expect(UInt8(ascii: "\""))
        // Fast path: most strings in a token have no escapes and become a String in one step.
        let start = index
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 {
            index += 1
        }
        if current == UInt8(ascii: "\"") {
            index += 1
            return try validated(bytes[start..<index - 1])
        }
        var utf8 = Array(bytes[start..<index])
        while true {
            guard let byte = current else { throw Failure() }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return try validated(utf8[...])
            case UInt8(ascii: "\\"):
                try parseEscape(into: &utf8)
            case 0x00..<0x20:
                throw Failure()
            default:
                utf8.append(byte)
            }
        }
    }

    /// Raw bytes were copied as they came; validating once here rejects overlong forms, encoded
    /// surrogates and truncated sequences.
    private func validated(_ utf8: ArraySlice<UInt8>) throws -> String {
        guard let string = String(validating: utf8, as: UTF8.self) else { throw Failure() }
        return string
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws {
        guard let byte = current else { throw Failure() }
        index += 1
        switch byte {
        case UInt8(ascii: "\""): utf8.append(0x22)
        case UInt8(ascii: "\\"): utf8.append(0x5C)
        case UInt8(ascii: "/"): utf8.append(0x2F)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate is only valid as the first half of an escaped pair.
                guard current == UInt8(ascii: "\\") else { throw Failure() }
                index += 1
                guard current == UInt8(ascii: "u") else { throw Failure() }
                index += 1
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw Failure() }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw Failure()
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw Failure() }
            utf8.append(contentsOf: UTF8.encode(unicode)!)
        default:
            throw Failure()
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw Failure() }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Failure()
            }
            value = value << 4 | UInt32(digit)
        }
        index += 4
        return value
    }

    /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. The grammar is checked
    /// here; only a lexeme that passed it reaches `Double.init`, which would accept more
    /// ("inf", "0x1p3", "+1").
    private mutating func parseNumber() throws -> Double {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, isDigit(first) else { throw Failure() }
        index += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        if current == UInt8(ascii: ".") {
            index += 1
            guard let byte = current, isDigit(byte) else { throw Failure() }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard let byte = current, isDigit(byte) else { throw Failure() }
            skipDigits()
        }
        guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)), value.isFinite else {
            throw Failure()
        }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func skipDigits() {
        while let byte = current, isDigit(byte) { index += 1 }
    }
}

// MARK: - Writing

extension JSONValue {
    /// Compact JSON with object keys sorted, so the same value always gives the same bytes.
    /// Numbers that are whole and within ±2^53 are written as integers (NumericDate style).
    func serialized() throws -> String {
        var out: [UInt8] = []
        try write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(into out: inout [UInt8]) throws {
        switch self {
        case .null: out += "null".utf8
        case .bool(let value): out += (value ? "true" : "false").utf8
        case .number(let value):
            guard value.isFinite else { throw CryptoError.invalidParameters("JSON cannot carry \(value)") }
            if value == value.rounded(), abs(value) <= 9_007_199_254_740_992 {
                out += String(Int64(value)).utf8
            } else {
                out += "\(value)".utf8
            }
        case .string(let value): Self.writeString(value, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (offset, element) in elements.enumerated() {
                if offset > 0 { out.append(UInt8(ascii: ",")) }
                try element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (offset, key) in members.keys.sorted().enumerated() {
                if offset > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                try members[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// UTF-8 passes through; only `"`, `\` and control characters are escaped.
    private static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case 0x0A: out += #"\n"#.utf8
            case 0x0D: out += #"\r"#.utf8
            case 0x09: out += #"\t"#.utf8
            case 0x08: out += #"\b"#.utf8
            case 0x0C: out += #"\f"#.utf8
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += #"\u00"#.utf8
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

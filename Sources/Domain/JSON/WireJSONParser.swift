import Foundation

public struct WireJSONError: Error, Sendable, CustomStringConvertible {
    /// What was wrong, for callers that word their own message (a request body's 400).
    public enum Kind: Sendable, Equatable {
        case syntax
        case tooDeep(limit: Int)
        case duplicateMember(String)
        case invalidUTF8
        case numberOutOfRange
    }

    public let offset: Int
    public let reason: String
    public let kind: Kind

    public init(offset: Int, reason: String, kind: Kind = .syntax) {
        self.offset = offset
        self.reason = reason
        self.kind = kind
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// How strictly `WireJSON.parse` reads. One RFC 8259 parser serves every JSON this server reads;
/// the options are where their rules differ.
public struct WireJSONParseOptions: Sendable {
    /// Deeper nesting is refused, so a hostile `[[[[…` cannot exhaust the stack.
    public var maximumDepth: Int
    /// Refuse a key given twice in one object (which of the two would win is otherwise the
    /// parser's secret; RFC 7515 §5.2 requires refusing them in a JOSE header).
    public var rejectsDuplicateKeys: Bool
    /// Refuse bytes that are not UTF-8 instead of reading them as U+FFFD.
    public var requiresValidUTF8: Bool
    /// Refuse a number no `Double` holds (`1e400`), for readers that turn every number into one.
    public var rejectsNonFiniteNumbers: Bool

    public init(maximumDepth: Int, rejectsDuplicateKeys: Bool, requiresValidUTF8: Bool, rejectsNonFiniteNumbers: Bool = false) {
        self.maximumDepth = maximumDepth
        self.rejectsDuplicateKeys = rejectsDuplicateKeys
        self.requiresValidUTF8 = requiresValidUTF8
        self.rejectsNonFiniteNumbers = rejectsNonFiniteNumbers
    }

    /// Provider responses: read what the provider sent (a stray invalid byte in a completion is
    /// the provider's, not a reason to lose the answer); the depth only stops a hostile body.
    public static let providerResponse = WireJSONParseOptions(maximumDepth: 256, rejectsDuplicateKeys: false, requiresValidUTF8: false)

    /// Untrusted input (request bodies, token segments): nothing ambiguous gets through.
    public static func strict(maximumDepth: Int) -> WireJSONParseOptions {
        WireJSONParseOptions(maximumDepth: maximumDepth, rejectsDuplicateKeys: true, requiresValidUTF8: true)
    }
}

extension WireJSON {
    /// Parses a complete JSON document (RFC 8259). Numbers keep their literal text.
    public static func parse(_ data: Data, options: WireJSONParseOptions = .providerResponse) throws(WireJSONError) -> WireJSON {
        try parse(bytes: [UInt8](data), options: options)
    }

    public static func parse(_ text: String, options: WireJSONParseOptions = .providerResponse) throws(WireJSONError) -> WireJSON {
        try parse(bytes: Array(text.utf8), options: options)
    }

    public static func parse(bytes: [UInt8], options: WireJSONParseOptions = .providerResponse) throws(WireJSONError) -> WireJSON {
        var parser = JSONByteParser(bytes: bytes, options: options)
        return try parser.parseDocument()
    }
}

private struct JSONByteParser {
    let bytes: [UInt8]
    let options: WireJSONParseOptions
    var index = 0
    var depth = 0

    init(bytes: [UInt8], options: WireJSONParseOptions) {
        self.bytes = bytes
        self.options = options
    }

    mutating func parseDocument() throws(WireJSONError) -> WireJSON {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected data after the JSON value") }
        return value
    }

    func fail(_ reason: String) -> WireJSONError {
        WireJSONError(offset: index, reason: reason)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(WireJSONError) -> WireJSON {
        guard index < bytes.count else { throw fail("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(WireJSONError) {
        var matched = true
        literal.withUTF8Buffer { word in
            for byte in word {
                guard index < bytes.count, bytes[index] == byte else { matched = false; return }
                index += 1
            }
        }
        guard matched else { throw fail("invalid literal") }
    }

    mutating func enter() throws(WireJSONError) {
        depth += 1
        if depth > options.maximumDepth {
            throw WireJSONError(offset: index, reason: "nesting deeper than \(options.maximumDepth)", kind: .tooDeep(limit: options.maximumDepth))
        }
    }

    mutating func parseObject() throws(WireJSONError) -> WireJSON {
        try enter()
        defer { depth -= 1 }
        index += 1
        var object = WireJSONObject()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
            let keyOffset = index
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            if options.rejectsDuplicateKeys, object[key] != nil {
                throw WireJSONError(offset: keyOffset, reason: "duplicate member name", kind: .duplicateMember(key))
            }
            object[key] = value
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(object) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func parseArray() throws(WireJSONError) -> WireJSON {
        try enter()
        defer { depth -= 1 }
        index += 1
        var items: [WireJSON] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            throw fail("expected ',' or ']'")
        }
    }

    mutating func parseNumber() throws(WireJSONError) -> WireJSON {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid fraction") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if options.rejectsNonFiniteNumbers, Double(text)?.isFinite != true {
            throw WireJSONError(offset: start, reason: "number out of range", kind: .numberOutOfRange)
        }
        return .number(text)
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// The text of the UTF-8 bytes, refusing invalid ones when the options say so.
    func text(_ utf8: some Collection<UInt8>) throws(WireJSONError) -> String {
        if options.requiresValidUTF8 {
            guard let text = String(validating: utf8, as: UTF8.self) else {
                throw WireJSONError(offset: index, reason: "invalid UTF-8 in a string", kind: .invalidUTF8)
            }
            return text
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    mutating func parseString() throws(WireJSONError) -> String {
        index += 1
        let start = index
        // Fast path: base64 image payloads are megabytes without a single escape.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let result = try text(bytes[start..<index])
                index += 1
                return result
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw fail("control character in a string") }
            index += 1
        }
        var utf8 = [UInt8](bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let result = try text(utf8)
                index += 1
                return result
            }
            if byte < 0x20 { throw fail("control character in a string") }
            if byte != UInt8(ascii: "\\") {
                utf8.append(byte)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): utf8.append(0x22)
            case UInt8(ascii: "\\"): utf8.append(0x5C)
            case UInt8(ascii: "/"): utf8.append(0x2F)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800...0xDBFF).contains(code) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                    else { throw fail("lone surrogate") }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("invalid surrogate pair") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(code) {
                    throw fail("lone surrogate")
                }
                guard let scalar = Unicode.Scalar(code) else { throw fail("invalid code point") }
                utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    mutating func parseHex4() throws(WireJSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail("invalid hex digit")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}

import Foundation
import TestSupport

/// A value as the schema check sees it. Numbers are exact (`Decimal`); `huge` is a number beyond
/// what `Decimal` holds (1e309), which no bounded field accepts.
indirect enum SweepValue {
    case null
    case bool(Bool)
    case number(Decimal, isInteger: Bool)
    case huge
    case string(String)
    case array([SweepValue])
    case object([String: SweepValue])
}

/// One hostile value, written three ways: as raw JSON text for a body member, as a raw
/// percent-encoded string for a query or path parameter, and as what it means (nil when it is
/// not valid JSON, or not valid text, so the server must refuse it).
struct HostileValue {
    let name: String
    let json: Data
    let meaning: SweepValue?
    let urlText: String
    let urlMeaning: String?

    static let all: [HostileValue] = {
        let bigString = String(repeating: "x", count: 100_000)
        let nesting = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        func text(_ name: String, _ value: String, json: String? = nil, url: String? = nil) -> HostileValue {
            // The text values need no escaping except NUL, which is given as `json`.
            let encoded = json ?? "\"\(value)\""
            return HostileValue(name: name, json: Data(encoded.utf8), meaning: .string(value),
                                urlText: url ?? value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "", urlMeaning: value)
        }
        func number(_ name: String, _ literal: String, integer: Bool = true) -> HostileValue {
            let meaning: SweepValue = Decimal(string: literal).map { .number($0, isInteger: integer) } ?? .huge
            return HostileValue(name: name, json: Data(literal.utf8), meaning: meaning, urlText: literal, urlMeaning: literal)
        }
        return [
            text("empty string", ""),
            number("0", "0"),
            number("-1", "-1"),
            number("2^31", "2147483648"),
            number("2^63", "9223372036854775808"),
            number("10^30", "1000000000000000000000000000000"),
            text("NaN as a string", "NaN"),
            HostileValue(name: "NaN as a bare token", json: Data("NaN".utf8), meaning: nil, urlText: "NaN", urlMeaning: "NaN"),
            HostileValue(name: "1e309", json: Data("1e309".utf8), meaning: .huge, urlText: "1e309", urlMeaning: "1e309"),
            number("12.5", "12.5", integer: false),
            text("100 kB string", bigString),
            text("string with NUL", "a\u{0}b", json: #""a\u0000b""#, url: "a%00b"),
            // In a URL the transport decodes invalid UTF-8 with U+FFFD replacements (libmicrohttpd hands
            // over bytes; `String(cString:)` repairs them), so what a handler judges is that text.
            HostileValue(name: "invalid UTF-8", json: Data([0x22, 0x61, 0xFF, 0xFE, 0x62, 0x22]), meaning: nil, urlText: "a%FF%FEb",
                         urlMeaning: "a\u{FFFD}\u{FFFD}b"),
            // Refused by the documented nesting bound (64), so `meaning` is nil: never acceptable.
            HostileValue(name: "deep nesting", json: Data(nesting.utf8), meaning: nil,
                         urlText: nesting.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "", urlMeaning: nesting),
            HostileValue(name: "boolean", json: Data("true".utf8), meaning: .bool(true), urlText: "true", urlMeaning: "true"),
            HostileValue(name: "object", json: Data("{}".utf8), meaning: .object([:]), urlText: "%7B%7D", urlMeaning: "{}"),
            HostileValue(name: "array", json: Data("[]".utf8), meaning: .array([]), urlText: "%5B%5D", urlMeaning: "[]"),
            HostileValue(name: "null", json: Data("null".utf8), meaning: .null, urlText: "null", urlMeaning: "null"),
            text("9999999999x9999999999", "9999999999x9999999999"),
        ]
    }()
}

/// Just enough of JSON Schema (2020-12, as OpenAPI 3.1 uses it) to say whether the contract
/// admits a value: `$ref`, `oneOf` (exactly one), `anyOf`, `allOf`, `type`, `enum`, string lengths (in Unicode
/// scalars), `pattern`, `format: uuid`, numeric bounds, `required`, `properties`,
/// `additionalProperties: false`, `items`, `maxItems`.
struct SchemaCheck {
    let document: OpenAPIDocument

    func admits(_ value: SweepValue, _ schemaValue: Any?) -> Bool {
        guard let schema = document.resolve(schemaValue) else { return true }
        // oneOf admits a value exactly one choice admits: a null both a nullable `$ref` and a
        // `type: 'null'` choice admit is refused by the contract, whatever the server does.
        if let choices = schema["oneOf"] as? [Any], choices.filter({ admits(value, $0) }).count != 1 { return false }
        if let choices = schema["anyOf"] as? [Any], !choices.contains(where: { admits(value, $0) }) { return false }
        if let all = schema["allOf"] as? [Any], !all.allSatisfy({ admits(value, $0) }) { return false }
        if let types = (schema["type"] as? [String]) ?? (schema["type"] as? String).map({ [$0] }), !types.contains(where: { matches(value, type: $0) }) {
            return false
        }
        if let options = schema["enum"] as? [Any], !options.contains(where: { equal(value, $0) }) { return false }
        switch value {
        case .string(let text):
            let length = text.unicodeScalars.count
            if let minimum = schema["minLength"] as? Int, length < minimum { return false }
            if let maximum = schema["maxLength"] as? Int, length > maximum { return false }
            if let pattern = schema["pattern"] as? String, text.range(of: pattern, options: .regularExpression) == nil { return false }
            if schema["format"] as? String == "uuid", UUID(uuidString: text) == nil { return false }
        case .number(let number, _):
            if let minimum = decimal(schema["minimum"]), number < minimum { return false }
            if let maximum = decimal(schema["maximum"]), number > maximum { return false }
            if let minimum = decimal(schema["exclusiveMinimum"]), number <= minimum { return false }
            if let maximum = decimal(schema["exclusiveMaximum"]), number >= maximum { return false }
        case .huge:
            if schema["maximum"] != nil || schema["exclusiveMaximum"] != nil { return false }
        case .object(let members):
            let required = schema["required"] as? [String] ?? []
            if required.contains(where: { members[$0] == nil }) { return false }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (key, member) in members {
                if let property = properties[key] {
                    if !admits(member, property) { return false }
                } else if schema["additionalProperties"] as? Bool == false {
                    return false
                } else if let additional = schema["additionalProperties"] as? [String: Any], !admits(member, additional) {
                    return false
                }
            }
        case .array(let elements):
            if let maximum = schema["maxItems"] as? Int, elements.count > maximum { return false }
            if let items = schema["items"], !elements.allSatisfy({ admits($0, items) }) { return false }
        case .null, .bool:
            break
        }
        return true
    }

    /// A query or path parameter's text against its schema: integers must be written as integers.
    func admits(parameterText text: String?, _ schemaValue: Any?) -> Bool {
        guard let text else { return false }
        let schema = document.resolve(schemaValue) ?? [:]
        let types = (schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? ["string"]
        if types.contains("integer") || types.contains("number") {
            let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Decimal(string: text) else { return false }
            return admits(.number(number, isInteger: true), schema)
        }
        if types.contains("boolean") { return text == "true" || text == "false" }
        return admits(.string(text), schema)
    }

    private func matches(_ value: SweepValue, type: String) -> Bool {
        switch (value, type) {
        case (.null, "null"), (.bool, "boolean"), (.string, "string"), (.array, "array"), (.object, "object"): true
        case (.number, "number"), (.huge, "number"), (.huge, "integer"): true
        case (.number(_, let isInteger), "integer"): isInteger
        default: false
        }
    }

    private func equal(_ value: SweepValue, _ option: Any) -> Bool {
        switch value {
        case .string(let text): (option as? String) == text
        case .bool(let flag): (option as? Bool) == flag
        case .null: option is NSNull
        case .number(let number, _): decimal(option) == number
        default: false
        }
    }

    private func decimal(_ value: Any?) -> Decimal? {
        switch value {
        case let number as Int: Decimal(number)
        case let number as Double: Decimal(number)
        case let number as NSNumber: number.decimalValue
        default: nil
        }
    }
}

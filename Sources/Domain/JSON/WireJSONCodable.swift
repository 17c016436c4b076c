import Foundation

/// `Codable` for values that travel inside `Codable` bodies (auth metadata in a user object).
/// The request path reads `WireJSON` directly (the strict body decoder hands it over whole), so
/// decoding here only serves decoders that have no JSON tree of their own.
extension WireJSON: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .number(String(value)) }
        else if let value = try? container.decode(Double.self) { self = .number("\(value)") }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([WireJSON].self) { self = .array(value) }
        else { self = .object(try container.decode(WireJSONObject.self)) }
    }

    /// A number is written as an integer when its text is one, else as the `Double` it reads as
    /// (what a JSON encoder can write); a number no `Double` holds cannot be encoded.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let text):
            if let integer = Int64(text) {
                try container.encode(integer)
            } else if let number = Double(text), number.isFinite {
                try container.encode(number)
            } else {
                throw EncodingError.invalidValue(text, EncodingError.Context(codingPath: encoder.codingPath,
                                                                             debugDescription: "\(text) is not a finite number"))
            }
        case .string(let text): try container.encode(text)
        case .array(let items): try container.encode(items)
        case .object(let object): try container.encode(object)
        }
    }
}

/// Encoded as a string-keyed dictionary, so an encoder's key strategy leaves member names as
/// they are (they are data, not Swift names) and sorted output sorts them.
extension WireJSONObject: Codable {
    public init(from decoder: any Decoder) throws {
        let members = try decoder.singleValueContainer().decode([String: WireJSON].self)
        self.init(members.sorted { $0.key < $1.key }.map { ($0.key, Optional($0.value)) })
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last }))
    }
}

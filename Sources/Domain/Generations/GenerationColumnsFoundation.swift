import Foundation

/// The generation's JSON columns through Foundation's coders, configured as they were always
/// stored (`.sortedKeys`, ISO 8601 dates): what the direct writers and readers
/// (`GenerationColumnsEncoding`/`Decoding`) leave out goes here, and their tests compare with it.
public enum GenerationColumnsFoundation {
    // One of each, configured once: a generation encodes and decodes several columns, and making
    // and configuring a coder each time showed in the chat profile. Both are safe to share
    // between threads (their options are behind a lock; each call keeps its own state).
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    public static func text<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try decoder.decode(type, from: Data(text.utf8))
    }

    /// A usage as stored: its members, and `countedWith` beside them when it was counted here.
    public static func usage(_ usage: Usage, countedWith: String?) throws -> String {
        try text(StoredUsage(usage: usage, countedWith: countedWith))
    }

    private struct StoredUsage: Encodable {
        let usage: Usage
        let countedWith: String?

        private enum Key: String, CodingKey { case countedWith }

        func encode(to encoder: any Encoder) throws {
            try usage.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encodeIfPresent(countedWith, forKey: .countedWith)
        }
    }
}

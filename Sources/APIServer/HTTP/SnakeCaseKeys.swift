import Foundation
import Synchronization

/// Coding keys in snake_case exactly as `JSONEncoder.KeyEncodingStrategy.convertToSnakeCase`
/// writes them, converted once per key rather than once per encode.
///
/// A key of ASCII without upper-case letters is its own conversion (the strategy only splits
/// words at capitals and lowercases them), which covers every key our bodies declare in
/// snake_case. Any other key is converted by Foundation itself the first time it is seen, so the
/// result is Foundation's by construction, and kept; the cache is bounded because a key type
/// built from input could otherwise grow it without end.
enum SnakeCaseKeys {
    static let capacity = 4096

    private static let cache = Mutex<[String: String]>([:])

    static func converted(_ key: String) -> String {
        if Self.isOwnConversion(key) { return key }
        if let known = cache.withLock({ $0[key] }) { return known }
        let result = Self.foundationConversion(of: key)
        cache.withLock { cache in
            if cache.count < Self.capacity { cache[key] = result }
        }
        return result
    }

    static func isOwnConversion(_ key: String) -> Bool {
        var key = key
        return key.withUTF8 { bytes in
            for byte in bytes where byte >= 0x80 || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) { return false }
            return true
        }
    }

    /// Encodes one member under `key` with the strategy and reads the member's name back.
    static func foundationConversion(of key: String) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(OneMember(name: key)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let name = object.keys.first
        else { return key }
        return name
    }

    private struct OneMember: Encodable {
        struct Name: CodingKey {
            let stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        let name: String

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Name.self)
            try container.encode(0, forKey: Name(stringValue: name))
        }
    }
}

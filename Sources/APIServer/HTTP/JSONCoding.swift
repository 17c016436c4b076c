import Foundation

/// The API's one JSON dialect: snake_case keys and RFC 3339 UTC timestamps.
enum JSONCoding {
    /// What every response is written with: `foundationEncoder`'s bytes, written without its costs
    /// (see `ResponseEncoder`).
    static let encoder = ResponseEncoder(fallback: foundationEncoder)

    /// The dialect as Foundation's encoder: the definition `encoder` must match byte for byte, and
    /// its fallback for values a stream cannot write.
    static let foundationEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.rfc3339(date))
        }
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

}

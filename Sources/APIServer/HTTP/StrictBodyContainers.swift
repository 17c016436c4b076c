import Domain
import Foundation

/// The containers of `StrictBodyDecoder`. Every primitive `decode` goes through
/// `StrictBodyDecoder.decodeValue`, so there is one rule per type whichever container asks.
extension StrictBodyDecoder {
    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let members: WireJSONObject
        let decoder: StrictBodyDecoder

        var codingPath: [any CodingKey] { decoder.codingPath }

        /// Reading all keys (a dictionary does) counts as asking for each of them.
        var allKeys: [Key] {
            members.keys.compactMap { name in
                guard let key = Key(stringValue: StrictBodyDecoder.swiftName(name)),
                      StrictBodyDecoder.wireName(key.stringValue) == name else { return nil }
                decoder.ledger.asked.insert(StrictBodyDecoder.join(decoder.path, name))
                return key
            }
        }

        private func wire(_ key: Key) -> String {
            let name = StrictBodyDecoder.wireName(key.stringValue)
            decoder.ledger.asked.insert(StrictBodyDecoder.join(decoder.path, name))
            return name
        }

        private func member(_ key: Key) throws -> StrictBodyDecoder {
            let name = wire(key)
            guard let value = members[name] else {
                throw FieldProblem(path: StrictBodyDecoder.join(decoder.path, name), code: "required",
                                   message: "is required.")
            }
            return decoder.child(value, key: WireKey(name))
        }

        func contains(_ key: Key) -> Bool {
            members[wire(key)] != nil
        }

        func decodeNil(forKey key: Key) throws -> Bool {
            if case .null = try member(key).value { return true }
            return false
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try value(type, forKey: key)
        }

        // The primitive requirements, all through the one generic path.
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try value(type, forKey: key) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try value(type, forKey: key) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try value(type, forKey: key) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try value(type, forKey: key) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try value(type, forKey: key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try value(type, forKey: key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try value(type, forKey: key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try value(type, forKey: key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try value(type, forKey: key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try value(type, forKey: key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try value(type, forKey: key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try value(type, forKey: key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try value(type, forKey: key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try value(type, forKey: key) }

        private func value<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let child = try member(key)
            if case .null = child.value {
                throw FieldProblem(path: child.path, code: "required", message: "must not be null.")
            }
            return try child.decodeValue(T.self)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try member(key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try member(key).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder {
            decoder.child(members["super"] ?? .null, key: WireKey("super"))
        }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            let name = wire(key)
            return decoder.child(members[name] ?? .null, key: WireKey(name))
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let elements: [WireJSON]
        let decoder: StrictBodyDecoder
        private(set) var currentIndex = 0

        init(elements: [WireJSON], decoder: StrictBodyDecoder) {
            self.elements = elements
            self.decoder = decoder
        }

        var codingPath: [any CodingKey] { decoder.codingPath }
        var count: Int? { elements.count }
        var isAtEnd: Bool { currentIndex >= elements.count }

        private mutating func next() throws -> StrictBodyDecoder {
            guard currentIndex < elements.count else {
                throw FieldProblem(path: decoder.path, code: "invalid_length", message: "has too few elements.")
            }
            let child = decoder.child(elements[currentIndex], key: WireKey(intValue: currentIndex))
            currentIndex += 1
            return child
        }

        mutating func decodeNil() throws -> Bool {
            guard currentIndex < elements.count, case .null = elements[currentIndex] else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try element(type)
        }

        mutating func decode(_ type: Bool.Type) throws -> Bool { try element(type) }
        mutating func decode(_ type: String.Type) throws -> String { try element(type) }
        mutating func decode(_ type: Double.Type) throws -> Double { try element(type) }
        mutating func decode(_ type: Float.Type) throws -> Float { try element(type) }
        mutating func decode(_ type: Int.Type) throws -> Int { try element(type) }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { try element(type) }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { try element(type) }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { try element(type) }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { try element(type) }
        mutating func decode(_ type: UInt.Type) throws -> UInt { try element(type) }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try element(type) }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try element(type) }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try element(type) }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try element(type) }

        private mutating func element<T: Decodable>(_ type: T.Type) throws -> T {
            let child = try next()
            if case .null = child.value {
                throw FieldProblem(path: child.path, code: "required", message: "must not be null.")
            }
            return try child.decodeValue(T.self)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next().container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try next().unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            try next()
        }
    }

    struct Single: SingleValueDecodingContainer {
        let decoder: StrictBodyDecoder

        var codingPath: [any CodingKey] { decoder.codingPath }

        func decodeNil() -> Bool {
            if case .null = decoder.value { return true }
            return false
        }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try single(type)
        }

        func decode(_ type: Bool.Type) throws -> Bool { try single(type) }
        func decode(_ type: String.Type) throws -> String { try single(type) }
        func decode(_ type: Double.Type) throws -> Double { try single(type) }
        func decode(_ type: Float.Type) throws -> Float { try single(type) }
        func decode(_ type: Int.Type) throws -> Int { try single(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try single(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try single(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try single(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try single(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try single(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try single(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try single(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try single(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try single(type) }

        private func single<T: Decodable>(_ type: T.Type) throws -> T {
            if case .null = decoder.value {
                throw FieldProblem(path: decoder.path, code: "required", message: "must not be null.")
            }
            return try decoder.decodeValue(T.self)
        }
    }
}

import Domain
import Foundation
import Persistence

/// The body of a listing ordered by creation (`GET /v1/generations`, `GET /v1/assets`): each item's
/// JSON is remembered with the `RowVersion` of the row it was written from and written again only
/// when the store read a different row. A dashboard polling its history or its library lists the
/// same items again and again, and writing them (timestamps, amounts, nested objects) through
/// Codable was a quarter to a half of a listing's CPU.
///
/// An item's JSON is reused only for the very version object it was written for: the store hands
/// that object back only when every value of the row had the remembered bytes, so the object is
/// the proof that nothing changed, and the body is always what the item's `Encodable` body writes
/// inside `{"data":[…],"next_cursor":…}`.
final class ListedPageJSON<Item: Sendable>: Sendable {
    struct Entry: Sendable {
        let version: RowVersion
        let json: Data
    }

    let items: ThreadShardedMemo<UUID, Entry>
    private let id: @Sendable (Item) -> UUID
    private let write: @Sendable (Item) throws -> Data

    /// `write` gives an item's JSON (its body through `JSONCoding.encoder`). One entry per item and
    /// thread, weighing its JSON's bytes, at most 256 KiB a shard: 4 MiB in all.
    init(id: @escaping @Sendable (Item) -> UUID, write: @escaping @Sendable (Item) throws -> Data) {
        items = ThreadShardedMemo(capacityPerShard: 512, weightPerShard: 256 << 10)
        self.id = id
        self.write = write
    }

    func body(of page: ListedPage<Item>) throws -> Data {
        var chunks: [Data] = []
        chunks.reserveCapacity(page.items.count)
        for (item, version) in zip(page.items, page.versions) {
            chunks.append(try json(of: item, version: version))
        }
        return Self.body(items: chunks, nextCursor: page.next?.token)
    }

    func json(of item: Item, version: RowVersion) throws -> Data {
        let key = id(item)
        if let known = items.value(for: key), known.version === version { return known.json }
        let json = try write(item)
        items.remember(Entry(version: version, json: json), for: key, weight: json.count)
        return json
    }

    /// `{"data":[items],"next_cursor":…}` around items already written: the members in the order
    /// the response encoder sorts them.
    static func body(items: [Data], nextCursor: String?) -> Data {
        let writer = JSONStreamWriter(capacity: 64 + items.reduce(0) { $0 + $1.count + 1 })
        writer.member(#"{"data":"#)
        writer.writeArray(items) { item in
            item.withUnsafeBytes { writer.bytes.append(contentsOf: $0.bindMemory(to: UInt8.self)) }
        }
        writer.member(#","next_cursor":"#)
        writer.writeString(nextCursor)
        writer.closeObject()
        return writer.bytes.data
    }
}

extension ListedPageJSON where Item == GenerationRecord {
    static let generations = ListedPageJSON(id: \.id) { try JSONCoding.encoder.encode(GenerationBody($0)) }
}

extension ListedPageJSON where Item == Asset {
    static let assets = ListedPageJSON(id: \.id) { try JSONCoding.encoder.encode(AssetBody($0)) }
}

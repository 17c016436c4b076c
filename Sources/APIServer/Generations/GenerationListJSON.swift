import Domain
import Foundation
import Persistence

/// The body of `GET /v1/generations`: each item's JSON is remembered with the version of the row it
/// was written from, and written again only when the store read a different row. A dashboard
/// polling its history lists the same ended generations again and again, and writing an item (its
/// candidates, cost lines and timestamps) was a quarter of a listing's CPU.
///
/// An item's JSON is reused only for the very `GenerationRowVersion` it was written for: the store
/// hands that object back only when every value of the row had the remembered bytes, so the object
/// is the proof that nothing changed, and the body is always what `GenerationPageBody` writes.
enum GenerationListJSON {
    struct Entry: Sendable {
        let version: GenerationRowVersion
        let json: Data
    }

    /// One entry per generation and thread, weighing its JSON's bytes, at most 256 KiB a shard:
    /// 4 MiB in all.
    static let items = ThreadShardedMemo<UUID, Entry>(capacityPerShard: 512, weightPerShard: 256 << 10)

    static func body(of page: GenerationPage) throws -> Data {
        var chunks: [Data] = []
        chunks.reserveCapacity(page.items.count)
        for (record, version) in zip(page.items, page.versions) {
            chunks.append(try item(record, version: version))
        }
        return GenerationListBody(items: chunks, nextCursor: page.next?.token).json
    }

    static func item(_ record: GenerationRecord, version: GenerationRowVersion) throws -> Data {
        if let known = items.value(for: record.id), known.version === version { return known.json }
        let json = try JSONCoding.encoder.encode(GenerationBody(record))
        items.remember(Entry(version: version, json: json), for: record.id, weight: json.count)
        return json
    }
}

/// `{"data":[items],"next_cursor":…}` around items already written, with the members in the order
/// `GenerationPageBody` sorts them.
struct GenerationListBody {
    let items: [Data]
    let nextCursor: String?

    var json: Data {
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

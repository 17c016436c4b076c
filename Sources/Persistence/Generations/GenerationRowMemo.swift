import Domain
import Foundation

/// The generations each thread listed lately, each with the exact bytes of the row it was decoded
/// from. A dashboard polls its history: most rows of a page are ended generations that never change
/// again, and decoding one (its settings, candidates and cost lines are JSON, its amounts decimals)
/// was about 40 % of a listing's CPU. A row whose every value has the remembered bytes gives the
/// remembered record, and the same `GenerationRowVersion`, so the handler may reuse its JSON too.
/// Remembered by row, not by page: a new generation shifts every page without changing its rows.
enum GenerationRowMemo {
    struct Entry: Sendable {
        let image: [UInt8]
        let record: GenerationRecord
        let version: GenerationRowVersion
    }

    /// Each entry weighs twice its row's bytes (the record is about as large), at most 256 KiB a
    /// shard: 4 MiB in all.
    static let shared = ThreadShardedMemo<UUID, Entry>(capacityPerShard: 512, weightPerShard: 256 << 10)

    /// The record of `row` (whose generation is `id`) and its version: remembered ones when the row
    /// has the remembered bytes, else `decode`'s, with a new version.
    static func record(of row: PostgresRow, id: UUID,
                       decode: () throws -> GenerationRecord) rethrows -> (GenerationRecord, GenerationRowVersion) {
        let rows = row.row..<(row.row + 1)
        if let known = shared.value(for: id), ResultBytes.matches(known.image, row.text, rows: rows) {
            return (known.record, known.version)
        }
        let record = try decode()
        let image = ResultBytes.image(of: row.text, rows: rows)
        let version = GenerationRowVersion()
        shared.remember(Entry(image: image, record: record, version: version), for: id, weight: 2 * image.count)
        return (record, version)
    }
}

import Domain
import Foundation

/// The rows of a listing each thread read lately, by id, each with its exact bytes, the value
/// decoded from them and a `RowVersion`. A dashboard polls its history and its library: most rows
/// of a page never change again, and decoding one (a generation's settings, candidates and cost
/// lines are JSON, its amounts decimals; an asset's metadata is JSON) was a large share of a
/// listing's CPU. A row whose every value has the remembered bytes gives the remembered value and
/// the same version, so the handler may reuse its JSON too. Remembered by row, not by page: a new
/// row shifts every page without changing the others.
public final class ListedRowMemo<Record: Sendable>: Sendable {
    struct Entry: Sendable {
        let image: [UInt8]
        let record: Record
        let version: RowVersion
    }

    let memo: ThreadShardedMemo<UUID, Entry>

    /// Each entry weighs twice its row's bytes (the value is about as large).
    public init(capacityPerShard: Int = 512, weightPerShard: Int = 256 << 10) {
        memo = ThreadShardedMemo(capacityPerShard: capacityPerShard, weightPerShard: weightPerShard)
    }

    /// The value of `row` (the row of `id`) and its version: the remembered ones when the row has
    /// the remembered bytes, else `decode`'s, with a new version.
    func record(of row: PostgresRow, id: UUID, decode: () throws -> Record) rethrows -> (Record, RowVersion) {
        let rows = row.row..<(row.row + 1)
        if let known = memo.value(for: id), ResultBytes.matches(known.image, row.text, rows: rows) {
            return (known.record, known.version)
        }
        let record = try decode()
        let image = ResultBytes.image(of: row.text, rows: rows)
        let version = RowVersion()
        memo.remember(Entry(image: image, record: record, version: version), for: id, weight: 2 * image.count)
        return (record, version)
    }

    /// A page of `rows` (each with its `id` column), decoded through the memo.
    func page(of rows: ArraySlice<PostgresRow>, next: GenerationCursor?,
              decode: (PostgresRow) throws -> Record) throws -> ListedPage<Record> {
        guard let first = rows.first else { return ListedPage(items: [], next: next) }
        // The rows of one result share their columns: the id's is found once, not by name per row.
        let id = try first.column("id")
        var items: [Record] = []
        var versions: [RowVersion] = []
        items.reserveCapacity(rows.count)
        versions.reserveCapacity(rows.count)
        for row in rows {
            let (record, version) = try record(of: row, id: try row.decode(id)) { try decode(row) }
            items.append(record)
            versions.append(version)
        }
        return ListedPage(items: items, versions: versions, next: next)
    }
}

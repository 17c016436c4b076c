import Domain
import Foundation

/// The pages of projects each user listed lately on this thread, with the exact bytes of the result
/// it was decoded from. A dashboard lists the same projects again and again, mostly unchanged,
/// and decoding a page (ids, four timestamps, four amounts and two texts a row) was about a sixth
/// of a listing's CPU: a result whose every value has the remembered bytes, for the same query,
/// gives the remembered page. One comparison a page, not one lookup a row: per row, the lookup
/// cost what the decoding did. A listing always returns what decoding its result returns.
enum ProjectPageMemo {
    struct Entry: Sendable {
        /// Every value of the result, row by row: its length as 4 bytes (all ones for NULL), then its bytes.
        let source: [UInt8]
        let rows: Int
        let page: ProjectPage
    }

    /// One entry per user, query and thread; each weighs twice its source's bytes (the decoded page is
    /// about as large), at most 256 KiB a shard: 4 MiB in all.
    static let shared = ThreadShardedMemo<UserQueryKey<ProjectListQuery>, Entry>(capacityPerShard: 64,
                                                                                        weightPerShard: 256 << 10)

    static func page(of rows: [PostgresRow], query: ProjectListQuery, user: UUID,
                     decode: () throws -> ProjectPage) rethrows -> ProjectPage {
        guard let first = rows.first, rows.allSatisfy({ $0.text === first.text }) else { return try decode() }
        let key = UserQueryKey(user: user, query: query)
        if let known = shared.value(for: key), known.rows == rows.count,
           matches(known.source, first.text, rows.count) {
            return known.page
        }
        let page = try decode()
        let source = source(of: first.text, rows.count)
        shared.remember(Entry(source: source, rows: rows.count, page: page), for: key, weight: 2 * source.count)
        return page
    }

    private static let null: UInt32 = .max

    static func source(of result: PostgresRowText, _ rows: Int) -> [UInt8] {
        var source: [UInt8] = []
        source.reserveCapacity(rows * result.columnCount * 24)
        for row in 0..<rows {
            for column in 0..<result.columnCount {
                result.withValue(row: row, column: column) { value in
                    let length = value.map { UInt32(truncatingIfNeeded: $0.count) } ?? null
                    withUnsafeBytes(of: length.littleEndian) { source.append(contentsOf: $0) }
                    if let value { source.append(contentsOf: value) }
                }
            }
        }
        return source
    }

    static func matches(_ source: [UInt8], _ result: PostgresRowText, _ rows: Int) -> Bool {
        source.withUnsafeBufferPointer { source in
            guard let base = source.baseAddress else { return rows == 0 || result.columnCount == 0 }
            var offset = 0
            for row in 0..<rows {
                for column in 0..<result.columnCount {
                    let same = result.withValue(row: row, column: column) { value -> Bool in
                        guard offset + 4 <= source.count else { return false }
                        let length = UInt32(source[offset]) | UInt32(source[offset + 1]) << 8 | UInt32(source[offset + 2]) << 16
                            | UInt32(source[offset + 3]) << 24
                        offset += 4
                        guard let value else { return length == null }
                        guard length == UInt32(truncatingIfNeeded: value.count), offset + value.count <= source.count else { return false }
                        defer { offset += value.count }
                        guard let actual = value.baseAddress else { return true }   // empty
                        return memcmp(base + offset, actual, value.count) == 0
                    }
                    if !same { return false }
                }
            }
            return offset == source.count
        }
    }
}

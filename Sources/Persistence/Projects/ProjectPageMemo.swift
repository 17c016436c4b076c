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
           ResultBytes.matches(known.source, first.text, rows: 0..<rows.count) {
            return known.page
        }
        let page = try decode()
        let source = ResultBytes.image(of: first.text, rows: 0..<rows.count)
        shared.remember(Entry(source: source, rows: rows.count, page: page), for: key, weight: 2 * source.count)
        return page
    }
}

import Domain
import Foundation
import Persistence

/// The bodies of the pages of projects each user listed lately on this thread, with the page each was
/// written from. Listing the same unchanged projects again (a dashboard polling) sends the
/// remembered bytes instead of formatting every timestamp, amount and budget again, which was
/// about a sixth of a listing's CPU.
///
/// A body is reused only for the very page it was written from: `ProjectPageMemo` hands back the
/// page it remembered when every value of the result had the same bytes, so that page's storage is
/// the proof that nothing changed. Any other page, equal or not, is written afresh, so the body is
/// always what `ProjectPageBody` writes.
enum ProjectPageJSONMemo {
    struct Entry: Sendable {
        let page: ProjectPage
        let json: Data
    }

    /// One entry per user, query and thread; each weighs twice its body's bytes (the page it keeps
    /// is about as large once the store's memo has let it go), at most 256 KiB a shard: 4 MiB in all.
    static let shared = ThreadShardedMemo<UserQueryKey<ProjectListQuery>, Entry>(capacityPerShard: 64,
                                                                                        weightPerShard: 256 << 10)

    static func body(of page: ProjectPage, query: ProjectListQuery, user: UUID) throws -> Data {
        let key = UserQueryKey(user: user, query: query)
        if let known = shared.value(for: key), isSamePage(known.page, page) { return known.json }
        let json = try JSONCoding.encoder.encode(ProjectPageBody(page))
        shared.remember(Entry(page: page, json: json), for: key, weight: 2 * json.count)
        return json
    }

    /// The same projects in the same storage (alive in both, so it cannot have been reused for
    /// other projects) and the same next page.
    static func isSamePage(_ a: ProjectPage, _ b: ProjectPage) -> Bool {
        guard a.items.count == b.items.count, sameCursor(a.next, b.next) else { return false }
        return a.items.withUnsafeBufferPointer { a in b.items.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
    }

    /// The parts the cursor's token is made of (its key byte for byte), without making two tokens.
    private static func sameCursor(_ a: ProjectCursor?, _ b: ProjectCursor?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.sort == b.sort && a.id == b.id && a.key.utf8.elementsEqual(b.key.utf8)
    }
}

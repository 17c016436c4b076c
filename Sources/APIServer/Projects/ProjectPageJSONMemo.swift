import Domain
import Foundation
import Persistence

/// The bodies of the pages of projects each user listed lately on this thread, with the page each was
/// written from. Listing the same unchanged projects again (a dashboard polling) sends the
/// remembered bytes instead of formatting every timestamp, amount and budget again, which was
/// about a sixth of a listing's CPU. Only a page that writes the same bytes reuses them
/// (`writesSameJSON`), so the body is byte for byte what `ProjectPageBody` writes.
enum ProjectPageJSONMemo {
    struct Entry: Sendable {
        let page: ProjectPage
        let json: Data
    }

    /// One entry per user, query and thread; each weighs twice its body's bytes (the page it keeps
    /// is about as large once the store's memo has let it go), at most 256 KiB a shard: 4 MiB in all.
    static let shared = ThreadShardedMemo<UserQueryKey<ProjectListQuery>, Entry>(capacityPerShard: 64,
                                                                                        weightPerShard: 256 << 10)

    static func body(of page: ProjectPage, query: ProjectListQuery, user: UUID) -> Data {
        let key = UserQueryKey(user: user, query: query)
        if let known = shared.value(for: key), writesSameJSON(known.page, page) { return known.json }
        let body = ProjectPageBody(page)
        let writer = JSONStreamWriter(capacity: body.estimatedJSONSize)
        body.writeJSON(to: writer)
        let json = writer.bytes.data
        shared.remember(Entry(page: page, json: json), for: key, weight: 2 * json.count)
        return json
    }

    static func writesSameJSON(_ a: ProjectPage, _ b: ProjectPage) -> Bool {
        guard a.items.count == b.items.count, sameCursor(a.next, b.next) else { return false }
        // The store hands back the page it remembered when its rows did not change: the very same
        // storage, alive in both, holds the very same projects.
        let shared = a.items.withUnsafeBufferPointer { a in b.items.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
        return shared || zip(a.items, b.items).allSatisfy(writesSameJSON)
    }

    /// Stricter than `==`, which calls canonically equivalent texts equal (and 1.5 and 1.50),
    /// though each may be written differently: texts are compared byte for byte and amounts by
    /// their stored representation, which decides the digits written.
    static func writesSameJSON(_ a: Project, _ b: Project) -> Bool {
        a.id == b.id && a.version == b.version && a.allowUnpriced == b.allowUnpriced
            && a.createdAt == b.createdAt && a.updatedAt == b.updatedAt && a.archivedAt == b.archivedAt
            && sameText(a.name, b.name) && sameText(a.description, b.description)
            && a.budget.period == b.budget.period && a.budget.periodStart == b.budget.periodStart
            && sameRepresentation(a.budget.limit, b.budget.limit)
            && sameRepresentation(a.budget.spent, b.budget.spent)
            && sameRepresentation(a.budget.reserved, b.budget.reserved)
    }

    /// The cursor's token is its sort, key bytes and id (made only when a body is written).
    private static func sameCursor(_ a: ProjectCursor?, _ b: ProjectCursor?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.sort == b.sort && a.id == b.id && sameText(a.key, b.key)
    }

    private static func sameText(_ a: String?, _ b: String?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.utf8.elementsEqual(b.utf8)
    }

    private static func sameRepresentation(_ a: Money?, _ b: Money?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return withUnsafeBytes(of: a.amount) { a in withUnsafeBytes(of: b.amount) { b in a.elementsEqual(b) } }
    }
}

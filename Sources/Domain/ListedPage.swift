/// The identity of one read of a stored row, compared with `===` and carrying nothing else. A store
/// that remembers what it decoded hands back the same object for a row read again with identical
/// bytes, so whatever was made from that row's value (its JSON) may be reused whenever the object is
/// the same; a new object promises nothing.
public final class RowVersion: Sendable {
    public init() {}
}

/// A page of a listing ordered by creation (generations, assets), the cursor of the next page when
/// there is one, and a `RowVersion` per item.
public struct ListedPage<Item: Sendable>: Sendable {
    public let items: [Item]
    public let versions: [RowVersion]
    public let next: GenerationCursor?

    /// `versions` of another length than `items` (or none) give every item a new version.
    public init(items: [Item], versions: [RowVersion]? = nil, next: GenerationCursor?) {
        self.items = items
        self.versions = versions.flatMap { $0.count == items.count ? $0 : nil } ?? items.map { _ in RowVersion() }
        self.next = next
    }
}

public typealias GenerationPage = ListedPage<GenerationRecord>
public typealias AssetPage = ListedPage<Asset>

import Foundation

/// Which assets `GET /v1/assets` lists.
public struct AssetFilter: Sendable {
    public enum Sort: String, Sendable, CaseIterable {
        case createdDesc = "-created_at"
        case createdAsc = "created_at"
    }

    public var projectID: UUID?
    public var kind: MediaKind?
    public var tag: String?
    public var favourite: Bool?
    public var archived: Bool
    /// Matched (case-insensitively, as a substring) against name, description and the generation's prompt.
    public var query: String?
    public var createdAfter: Date?
    public var createdBefore: Date?
    public var sort: Sort
    public var cursor: GenerationCursor?
    public var limit: Int

    public init(projectID: UUID? = nil, kind: MediaKind? = nil, tag: String? = nil, favourite: Bool? = nil, archived: Bool = false,
                query: String? = nil, createdAfter: Date? = nil, createdBefore: Date? = nil, sort: Sort = .createdDesc,
                cursor: GenerationCursor? = nil, limit: Int = 20) {
        self.projectID = projectID
        self.kind = kind
        self.tag = tag
        self.favourite = favourite
        self.archived = archived
        self.query = query
        self.createdAfter = createdAfter
        self.createdBefore = createdBefore
        self.sort = sort
        self.cursor = cursor
        self.limit = limit
    }
}

/// What PATCH and bulk operations may change. A nil field is left alone; `description` may be
/// cleared with `.some(nil)`.
public struct AssetChanges: Sendable, Equatable {
    public var name: String?
    public var description: String??
    public var tags: [String]?
    public var addTags: [String]?
    public var removeTags: [String]?
    public var favourite: Bool?
    public var archived: Bool?
    public var projectID: UUID?

    public init(name: String? = nil, description: String?? = nil, tags: [String]? = nil, addTags: [String]? = nil,
                removeTags: [String]? = nil, favourite: Bool? = nil, archived: Bool? = nil, projectID: UUID? = nil) {
        self.name = name
        self.description = description
        self.tags = tags
        self.addTags = addTags
        self.removeTags = removeTags
        self.favourite = favourite
        self.archived = archived
        self.projectID = projectID
    }
}

/// A new upload's row, written once its blob is stored.
public struct NewUpload: Sendable {
    public var id: UUID
    public var projectID: UUID
    public var kind: MediaKind
    public var contentType: String
    public var blob: StoredBlob
    public var name: String
    public var originalFilename: String?
    public var metadata: MediaMetadata
    public var thumbnailState: ThumbnailState
    public var parents: [UUID]

    public init(id: UUID, projectID: UUID, kind: MediaKind, contentType: String, blob: StoredBlob, name: String,
                originalFilename: String?, metadata: MediaMetadata, thumbnailState: ThumbnailState, parents: [UUID]) {
        self.id = id
        self.projectID = projectID
        self.kind = kind
        self.contentType = contentType
        self.blob = blob
        self.name = name
        self.originalFilename = originalFilename
        self.metadata = metadata
        self.thumbnailState = thumbnailState
        self.parents = parents
    }
}

/// The blobs a deleted row named: each is removed once no row of anyone names it.
public struct ReleasedBlobs: Sendable, Equatable {
    public var deleted: [UUID]
    public var keys: [String]

    public init(deleted: [UUID], keys: [String]) {
        self.deleted = deleted
        self.keys = keys
    }
}

/// Storage of asset rows, always as the user (`claimsJSON`), except the maintenance calls.
public protocol AssetStore: Sendable {
    /// Checks the project, stores the blob (through `put`, holding no database connection while it
    /// runs), then takes the blob key's lock, checks with `stillStored` that no concurrent delete of
    /// the same content removed it meanwhile (else 503, retry), and writes the row. With a quota, the
    /// user's uploads are decided one at a time against the sum of their assets (throws
    /// `StorageQuotaExceeded`; the caller removes the blob it placed).
    func createUpload(project: UUID, claimsJSON: String, quota: StorageQuota, put: () throws -> NewUpload,
                      stillStored: (String) throws -> Bool) throws -> Asset
    /// The sum of the caller's assets' sizes, what `StorageQuota` counts.
    func storedBytes(claimsJSON: String) throws -> Int64
    func asset(_ id: UUID, claimsJSON: String) throws -> Asset?
    func list(_ filter: AssetFilter, claimsJSON: String) throws -> AssetPage
    /// Nil for an unknown asset; throws `DomainError.preconditionFailed` for a stale version.
    func update(_ id: UUID, expectedVersion: Int?, changes: AssetChanges, claimsJSON: String) throws -> Asset?
    /// All or nothing: every id must be the caller's; nil (nothing changed) when one is not, with the missing ids.
    func bulkUpdate(_ ids: [UUID], changes: AssetChanges, claimsJSON: String) throws -> Result<[Asset], MissingAssets>
    /// Deletes and removes blobs nothing names any more (via `deleteBlob`). Same all-or-nothing rule.
    func delete(_ ids: [UUID], claimsJSON: String, deleteBlob: (String) throws -> Void) throws -> Result<[UUID], MissingAssets>
    func lineage(_ id: UUID, claimsJSON: String) throws -> AssetLineage?
    func setThumbnail(_ id: UUID, state: ThumbnailState, key: String?, claimsJSON: String) throws

    // Maintenance (service role): every storage key rows name, and deletion of a user's blobs.
    func referencedKeys() throws -> Set<String>
    /// Deletes the blob (through `deleteBlob`) when no row of anyone names it, under the key's lock; true when deleted.
    @discardableResult
    func deleteIfUnreferenced(_ key: String, deleteBlob: (String) throws -> Void) throws -> Bool
    /// Keys only this user's rows name (removed with their account).
    func keysOnlyNamed(byUser user: UUID) throws -> [String]
}

/// The ids of a bulk request that are not the caller's assets.
public struct MissingAssets: Error, Sendable, Equatable {
    public let ids: [UUID]

    public init(ids: [UUID]) { self.ids = ids }
}

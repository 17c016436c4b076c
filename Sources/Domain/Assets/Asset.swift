import Foundation

/// Where an asset came from.
public enum AssetSource: String, Sendable, Codable, CaseIterable {
    case generated
    case uploaded
}

/// Whether a derived preview image (thumbnail or video poster frame) exists.
public enum ThumbnailState: String, Sendable, Codable {
    case pending
    case ready
    case unavailable
}

/// An asset in the library: a stored file owned by a user in one of their projects.
public struct Asset: Sendable, Equatable {
    public var id: UUID
    public var projectID: UUID
    public var generationID: UUID?
    public var kind: MediaKind
    public var contentType: String
    public var bytes: Int64
    public var sha256: String
    public var storageKey: String
    public var name: String?
    public var description: String?
    public var tags: [String]
    public var favourite: Bool
    public var archived: Bool
    public var source: AssetSource
    public var metadata: MediaMetadata
    public var thumbnailKey: String?
    public var thumbnailState: ThumbnailState
    public var originalFilename: String?
    /// The generation's prompt, for generated assets.
    public var prompt: String?
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, projectID: UUID, generationID: UUID?, kind: MediaKind, contentType: String, bytes: Int64, sha256: String,
                storageKey: String, name: String?, description: String?, tags: [String], favourite: Bool, archived: Bool,
                source: AssetSource, metadata: MediaMetadata, thumbnailKey: String?, thumbnailState: ThumbnailState,
                originalFilename: String?, prompt: String?, version: Int, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.projectID = projectID
        self.generationID = generationID
        self.kind = kind
        self.contentType = contentType
        self.bytes = bytes
        self.sha256 = sha256
        self.storageKey = storageKey
        self.name = name
        self.description = description
        self.tags = tags
        self.favourite = favourite
        self.archived = archived
        self.source = source
        self.metadata = metadata
        self.thumbnailKey = thumbnailKey
        self.thumbnailState = thumbnailState
        self.originalFilename = originalFilename
        self.prompt = prompt
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The strong validator of the row (If-Match on PATCH): changes with every edit.
    public var entityTag: String { "\"v\(version)-\(id.lowercasedString.prefix(8))\"" }
}

/// What the server learnt about a file's content: dimensions, duration, a text preview.
public struct MediaMetadata: Sendable, Equatable {
    public var width: Int?
    public var height: Int?
    public var durationMilliseconds: Int64?
    public var previewText: String?

    public init(width: Int? = nil, height: Int? = nil, durationMilliseconds: Int64? = nil, previewText: String? = nil) {
        self.width = width
        self.height = height
        self.durationMilliseconds = durationMilliseconds
        self.previewText = previewText
    }
}

/// An asset's family: the generation that made it, the assets it was made from and those made from it.
public struct AssetLineage: Sendable, Equatable {
    public var generationID: UUID?
    public var parents: [UUID]
    public var children: [UUID]

    public init(generationID: UUID?, parents: [UUID], children: [UUID]) {
        self.generationID = generationID
        self.parents = parents
        self.children = children
    }
}

import Domain
import Foundation

/// An asset on the wire (`GET /v1/assets/{id}`, list items, the 201 of an upload).
struct AssetBody: Encodable {
    struct Preview: Encodable {
        let width: Int?
        let height: Int?
        let durationMs: Int64?
        let text: String?
        /// `ready`, `pending` or `unavailable`.
        let thumbnail: String
        let thumbnailUrl: String?

        enum CodingKeys: CodingKey {
            case width, height, durationMs, text, thumbnail, thumbnailUrl
        }

        // Every member, null included (the synthesised encoding would leave nil out).
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(width, forKey: .width)
            try container.encode(height, forKey: .height)
            try container.encode(durationMs, forKey: .durationMs)
            try container.encode(text, forKey: .text)
            try container.encode(thumbnail, forKey: .thumbnail)
            try container.encode(thumbnailUrl, forKey: .thumbnailUrl)
        }
    }

    let id: String
    let projectId: String
    let generationId: String?
    let source: String
    let kind: String
    let contentType: String
    let bytes: Int64
    let sha256: String
    let name: String?
    let description: String?
    let tags: [String]
    let favourite: Bool
    let archived: Bool
    let originalFilename: String?
    let prompt: String?
    let preview: Preview
    let contentUrl: String
    let version: Int
    let createdAt: String
    let updatedAt: String

    init(_ asset: Asset) {
        let id = asset.id.lowercasedString
        self.id = id
        projectId = asset.projectID.lowercasedString
        generationId = asset.generationID?.lowercasedString
        source = asset.source.rawValue
        kind = asset.kind.rawValue
        contentType = asset.contentType
        bytes = asset.bytes
        sha256 = asset.sha256
        name = asset.name
        description = asset.description
        tags = asset.tags
        favourite = asset.favourite
        archived = asset.archived
        originalFilename = asset.originalFilename
        prompt = asset.prompt
        preview = Preview(width: asset.metadata.width, height: asset.metadata.height, durationMs: asset.metadata.durationMilliseconds,
                          text: asset.metadata.previewText, thumbnail: asset.thumbnailState.rawValue,
                          thumbnailUrl: asset.thumbnailState == .ready && asset.thumbnailKey != nil ? "/v1/assets/\(id)/thumbnail" : nil)
        contentUrl = "/v1/assets/\(id)/content"
        version = asset.version
        createdAt = Timestamp.rfc3339(asset.createdAt)
        updatedAt = Timestamp.rfc3339(asset.updatedAt)
    }

    enum CodingKeys: CodingKey {
        case id, projectId, generationId, source, kind, contentType, bytes, sha256, name, description, tags, favourite, archived,
             originalFilename, prompt, preview, contentUrl, version, createdAt, updatedAt
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(projectId, forKey: .projectId)
        try container.encode(generationId, forKey: .generationId)
        try container.encode(source, forKey: .source)
        try container.encode(kind, forKey: .kind)
        try container.encode(contentType, forKey: .contentType)
        try container.encode(bytes, forKey: .bytes)
        try container.encode(sha256, forKey: .sha256)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(tags, forKey: .tags)
        try container.encode(favourite, forKey: .favourite)
        try container.encode(archived, forKey: .archived)
        try container.encode(originalFilename, forKey: .originalFilename)
        try container.encode(prompt, forKey: .prompt)
        try container.encode(preview, forKey: .preview)
        try container.encode(contentUrl, forKey: .contentUrl)
        try container.encode(version, forKey: .version)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

struct AssetPageBody: Encodable {
    let data: [AssetBody]
    let nextCursor: String?

    enum CodingKeys: CodingKey {
        case data, nextCursor
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

struct AssetLineageBody: Encodable {
    let assetId: String
    let generationId: String?
    let parents: [String]
    let children: [String]

    enum CodingKeys: CodingKey {
        case assetId, generationId, parents, children
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(assetId, forKey: .assetId)
        try container.encode(generationId, forKey: .generationId)
        try container.encode(parents, forKey: .parents)
        try container.encode(children, forKey: .children)
    }
}

struct SignedURLBody: Encodable {
    let url: String
    let expiresAt: String
}

struct BulkResultBody: Encodable {
    struct Item: Encodable {
        let id: String
        let status: String
    }

    let action: String
    let results: [Item]
}

/// `PATCH /v1/assets/{id}`: each member optional; `description: null` clears it.
struct AssetPatchRequest: Decodable {
    let changes: AssetChanges

    enum Keys: String, CodingKey {
        case name, description, tags, favourite, archived, projectId
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        var changes = AssetChanges()
        changes.name = try container.decodeIfPresent(String.self, forKey: .name)
        if container.contains(.description) {
            changes.description = .some(try container.decodeNil(forKey: .description) ? nil : try container.decode(String.self, forKey: .description))
        }
        changes.tags = try container.decodeIfPresent([String].self, forKey: .tags)
        changes.favourite = try container.decodeIfPresent(Bool.self, forKey: .favourite)
        changes.archived = try container.decodeIfPresent(Bool.self, forKey: .archived)
        if let project = try container.decodeIfPresent(String.self, forKey: .projectId) {
            guard let id = UUID(uuidString: project) else {
                throw Problem.validation([FieldError(field: "project_id", code: "invalid", message: "project_id must be a UUID")])
            }
            changes.projectID = id
        }
        self.changes = changes
    }
}

/// `POST /v1/assets/{id}/signed-url`.
struct SignedURLRequest: Decodable {
    let expiresIn: Int?
    let disposition: String?
}

/// `POST /v1/assets/bulk`.
struct BulkRequest: Decodable {
    let action: String
    let ids: [String]
    let tags: [String]?
    let projectId: String?
}

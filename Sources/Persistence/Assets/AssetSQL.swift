import Domain
import Foundation

/// The columns and row mapping behind `PostgresAssetStore`.
enum AssetSQL {
    /// `a` is public.assets; the generation's prompt comes from a left join as `g`.
    static let columns: SQL = """
        a.id, a.project_id, a.generation_id, a.kind, a.content_type, a.bytes, a.sha256, a.storage_key, a.name, a.description,
        array_to_json(a.tags)::text as tags, a.favourite, a.archived, a.source, a.width, a.height, a.duration_ms, a.preview_text,
        a.thumbnail_key, a.thumbnail_state, a.original_filename, a.version, a.created_at, a.updated_at, g.prompt,
        (extract(epoch from a.created_at) * 1000000)::bigint as created_key
        """

    static let from: SQL = "public.assets a left join public.generations g on g.id = a.generation_id"

    static func asset(_ row: PostgresRow) throws -> Asset {
        let tags = try JSONDecoder().decode([String].self, from: Data(try row.decode("tags", as: String.self).utf8))
        return Asset(
            id: try row.decode("id"), projectID: try row.decode("project_id"), generationID: try row.decodeIfPresent("generation_id"),
            kind: try enumValue(row, "kind"), contentType: try row.decode("content_type"), bytes: try row.decode("bytes"),
            sha256: try row.decode("sha256"), storageKey: try row.decode("storage_key"), name: try row.decodeIfPresent("name"),
            description: try row.decodeIfPresent("description"), tags: tags, favourite: try row.decode("favourite"),
            archived: try row.decode("archived"), source: try enumValue(row, "source"),
            metadata: MediaMetadata(width: try row.decodeIfPresent("width"), height: try row.decodeIfPresent("height"),
                                    durationMilliseconds: try row.decodeIfPresent("duration_ms"),
                                    previewText: try row.decodeIfPresent("preview_text")),
            thumbnailKey: try row.decodeIfPresent("thumbnail_key"), thumbnailState: try enumValue(row, "thumbnail_state"),
            originalFilename: try row.decodeIfPresent("original_filename"), prompt: try row.decodeIfPresent("prompt"),
            version: try row.decode("version"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    /// The changes as the jsonb `app_engine.update_asset` reads: only the keys present are changed.
    static func changes(_ changes: AssetChanges) throws -> String {
        var object: [String: Any] = [:]
        if let name = changes.name { object["name"] = name }
        if let description = changes.description { object["description"] = description ?? NSNull() }
        if let tags = changes.tags { object["tags"] = tags }
        if let tags = changes.addTags { object["add_tags"] = tags }
        if let tags = changes.removeTags { object["remove_tags"] = tags }
        if let favourite = changes.favourite { object["favourite"] = favourite }
        if let archived = changes.archived { object["archived"] = archived }
        if let project = changes.projectID { object["project_id"] = project.lowercasedString }
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func uuidArray(_ ids: [UUID]) -> [String] { ids.map { $0.lowercasedString } }

    private static func enumValue<T: RawRepresentable>(_ row: PostgresRow, _ column: String) throws -> T where T.RawValue == String {
        let text = try row.decode(column, as: String.self)
        guard let value = T(rawValue: text) else {
            throw DatabaseError(step: .statement, sqlState: nil, serverMessage: "unexpected \(column) \(text)")
        }
        return value
    }
}

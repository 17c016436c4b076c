import Domain
import Foundation

/// Reading the asset routes' query strings and bodies into domain values, with per-field errors.
enum AssetQueries {
    static let maximumBulkIDs = 500
    static let maximumTags = 32
    static let maximumTagLength = 64
    static let maximumParents = 16

    struct Upload {
        let project: UUID
        let filename: String?
        let parents: [UUID]
    }

    /// `POST /v1/assets?project_id=…&filename=…&parent_ids=a,b`.
    static func upload(_ query: [String: String]) throws -> Upload {
        var errors: [FieldError] = []
        let project = query["project_id"].flatMap(UUID.init(uuidString:))
        if project == nil {
            errors.append(FieldError(field: "project_id", code: query["project_id"] == nil ? "required" : "invalid",
                                     message: "project_id (a UUID) names the project the asset belongs to"))
        }
        var filename: String?
        if let raw = query["filename"] {
            filename = FileNames.sanitised(raw)
            if filename == nil { errors.append(FieldError(field: "filename", code: "invalid", message: "filename has no usable characters")) }
        }
        var parents: [UUID] = []
        if let raw = query["parent_ids"] {
            let parts = raw.split(separator: ",", omittingEmptySubsequences: false)
            parents = parts.compactMap { UUID(uuidString: String($0)) }
            if parents.count != parts.count || parents.count > maximumParents {
                errors.append(FieldError(field: "parent_ids", code: "invalid", message: "parent_ids must be 1 to \(maximumParents) comma-separated asset ids"))
            }
        }
        guard errors.isEmpty, let project else { throw DomainError.validation(errors) }
        return Upload(project: project, filename: filename, parents: Array(Set(parents)))
    }

    /// `GET /v1/assets` filters.
    static func filter(_ query: [String: String]) throws -> AssetFilter {
        var filter = AssetFilter()
        var errors: [FieldError] = []
        if let value = query["project_id"] {
            if let id = UUID(uuidString: value) { filter.projectID = id } else {
                errors.append(FieldError(field: "project_id", code: "invalid", message: "project_id must be a UUID"))
            }
        }
        if let value = query["kind"] {
            if let kind = MediaKind(rawValue: value), kind != .imageToVideo { filter.kind = kind } else {
                errors.append(FieldError(field: "kind", code: "invalid", message: "kind must be one of text, image, video, audio"))
            }
        }
        if let value = query["tag"] {
            if let tag = normalisedTag(value) { filter.tag = tag } else {
                errors.append(FieldError(field: "tag", code: "invalid", message: "tag must be 1 to \(maximumTagLength) printable characters"))
            }
        }
        func flag(_ name: String) -> Bool? {
            guard let value = query[name] else { return nil }
            if value == "true" { return true }
            if value == "false" { return false }
            errors.append(FieldError(field: name, code: "invalid", message: "\(name) must be true or false"))
            return nil
        }
        filter.favourite = flag("favourite")
        filter.archived = flag("archived") ?? false
        if let value = query["q"] {
            if (1...200).contains(value.unicodeScalars.count) { filter.query = value } else {
                errors.append(FieldError(field: "q", code: "out_of_range", message: "q must be 1 to 200 characters"))
            }
        }
        filter.createdAfter = ListPaging.time(query, "created_after", errors: &errors)
        filter.createdBefore = ListPaging.time(query, "created_before", errors: &errors)
        if let value = query["sort"] {
            if let sort = AssetFilter.Sort(rawValue: value) { filter.sort = sort } else {
                errors.append(FieldError(field: "sort", code: "invalid", message: "sort must be created_at or -created_at"))
            }
        }
        if let limit = ListPaging.limit(query, errors: &errors) { filter.limit = limit }
        guard errors.isEmpty else { throw DomainError.validation(errors) }
        filter.cursor = try ListPaging.cursor(query, ascending: filter.sort == .createdAsc)
        return filter
    }

    /// A tag as stored: trimmed, 1 to 64 characters, no control characters.
    static func normalisedTag(_ raw: String) -> String? {
        let tag = raw.trimmingCharacters(in: .whitespaces)
        guard (1...maximumTagLength).contains(tag.unicodeScalars.count),
              !tag.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) })
        else { return nil }
        return tag
    }

    static func validate(_ changes: AssetChanges) throws {
        var errors: [FieldError] = []
        if let name = changes.name, !(1...255).contains(name.unicodeScalars.count) || name.trimmingCharacters(in: .whitespaces).isEmpty
            || name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            errors.append(FieldError(field: "name", code: "invalid", message: "name must be 1 to 255 characters without control characters"))
        }
        if case .some(.some(let description)) = changes.description, description.unicodeScalars.count > 2000 {
            errors.append(FieldError(field: "description", code: "too_long", message: "description must be at most 2000 characters"))
        }
        for (field, tags) in [("tags", changes.tags), ("tags", changes.addTags), ("tags", changes.removeTags)] {
            guard let tags else { continue }
            if tags.count > maximumTags || tags.contains(where: { normalisedTag($0) != $0 }) {
                errors.append(FieldError(field: field, code: "invalid",
                                         message: "tags: at most \(maximumTags), each 1 to \(maximumTagLength) characters, trimmed, no control characters"))
            }
        }
        guard errors.isEmpty else { throw DomainError.validation(errors) }
    }

    enum BulkAction {
        case change(AssetChanges)
        case delete
    }

    struct Bulk {
        let name: String
        let action: BulkAction
        let ids: [UUID]
    }

    static func bulk(_ body: BulkRequest) throws -> Bulk {
        var errors: [FieldError] = []
        let ids = body.ids.compactMap { UUID(uuidString: $0) }
        if ids.count != body.ids.count || !(1...maximumBulkIDs).contains(ids.count) {
            errors.append(FieldError(field: "ids", code: "invalid", message: "ids must be 1 to \(maximumBulkIDs) asset ids"))
        }
        var unique: [UUID] = []
        for id in ids where !unique.contains(id) { unique.append(id) }
        var changes = AssetChanges()
        var action = BulkAction.change(changes)
        func tags() -> [String]? {
            guard let tags = body.tags, !tags.isEmpty else {
                errors.append(FieldError(field: "tags", code: "required", message: "\(body.action) needs tags"))
                return nil
            }
            return tags
        }
        switch body.action {
        case "archive": changes.archived = true
        case "unarchive": changes.archived = false
        case "favourite": changes.favourite = true
        case "unfavourite": changes.favourite = false
        case "tag": changes.addTags = tags()
        case "untag": changes.removeTags = tags()
        case "move":
            if let project = body.projectId.flatMap(UUID.init(uuidString:)) { changes.projectID = project } else {
                errors.append(FieldError(field: "project_id", code: "required", message: "move needs project_id (a UUID)"))
            }
        case "delete": action = .delete
        default:
            errors.append(FieldError(field: "action", code: "invalid",
                                     message: "action must be one of archive, unarchive, favourite, unfavourite, tag, untag, move, delete"))
        }
        if !["tag", "untag"].contains(body.action), body.tags != nil {
            errors.append(FieldError(field: "tags", code: "not_allowed", message: "tags is only for tag and untag"))
        }
        if body.action != "move", body.projectId != nil {
            errors.append(FieldError(field: "project_id", code: "not_allowed", message: "project_id is only for move"))
        }
        guard errors.isEmpty else { throw DomainError.validation(errors) }
        try validate(changes)
        if case .change = action { action = .change(changes) }
        return Bulk(name: body.action, action: action, ids: unique)
    }

    /// `inline` or `attachment` with the asset's name: ASCII in `filename`, the exact name in `filename*`.
    static func contentDisposition(_ asset: Asset, _ disposition: AssetURLSigner.Disposition) -> String {
        let name = asset.originalFilename ?? asset.name.flatMap(FileNames.sanitised) ?? "asset-\(asset.id.lowercasedString.prefix(8))"
        let encoded = name.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn:
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~")) ?? "asset"
        return "\(disposition.rawValue); filename=\"\(FileNames.asciiFallback(name))\"; filename*=UTF-8''\(encoded)"
    }
}

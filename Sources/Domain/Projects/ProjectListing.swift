import Foundation

public enum ProjectSort: String, Sendable, CaseIterable {
    /// Most recently updated first.
    case updatedAt = "updated_at"
    /// Case-insensitive name, A to Z.
    case name
}

public enum ArchivedFilter: String, Sendable, CaseIterable {
    case active = "false"
    case archived = "true"
    case all
}

/// The position after the last row of a page: its sort key and id (keyset pagination), so rows
/// inserted meanwhile neither repeat nor hide rows of the listing. `key` is the store's text for
/// the sort column (epoch microseconds for updated_at, lower(name) for name).
public struct ProjectCursor: Sendable, Hashable {
    public let sort: ProjectSort
    public let key: String
    public let id: UUID

    public init(sort: ProjectSort, key: String, id: UUID) {
        self.sort = sort
        self.key = key
        self.id = id
    }

    /// Thrown for a cursor this server did not issue (or issued for another sort).
    public struct Invalid: Error, Equatable, Sendable {}

    private struct Wire: Codable {
        let s: String
        let k: String
        let i: String
    }

    /// base64url (no padding) of a small JSON object; opaque to clients.
    ///
    /// The object is written here, byte for byte what `JSONEncoder` with sorted keys wrote (so every
    /// process writes the same cursor for the same position, and ProjectCursorTokenTests compares the
    /// two): the encoder was ~8 % of a projects list's server time.
    public var token: String {
        var json = [UInt8]()
        json.reserveCapacity(key.utf8.count + 72)
        json.append(contentsOf: #"{"i":"#.utf8)
        Self.appendString(id.lowercasedString, to: &json)
        json.append(contentsOf: #","k":"#.utf8)
        Self.appendString(key, to: &json)
        json.append(contentsOf: #","s":"#.utf8)
        Self.appendString(sort.rawValue, to: &json)
        json.append(UInt8(ascii: "}"))
        return Base64URL.encode(json)
    }

    /// A JSON string as `JSONEncoder` escapes one: quote, backslash and slash, the short escapes,
    /// other control characters as `\u00xx`; everything else as is.
    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func appendString(_ text: String, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): json.append(contentsOf: [UInt8(ascii: "\\"), byte])
            case 0x0A: json.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: json.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: json.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: json.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: json.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0..<0x20:
                json.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                         hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]])
            default: json.append(byte)
            }
        }
        json.append(UInt8(ascii: "\""))
    }

    public init(token: String, sort expected: ProjectSort) throws(Invalid) {
        guard token.count <= 1_024, token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw Invalid()
        }
        guard let bytes = Base64URL.decode(token), let wire = try? JSONDecoder().decode(Wire.self, from: Data(bytes)),
              wire.s == expected.rawValue, let id = UUID(uuidString: wire.i) else { throw Invalid() }
        switch expected {
        case .updatedAt:
            // Epoch microseconds within what a double carries exactly (the store converts through one).
            guard let micros = Int64(wire.k), (0...(1 << 53)).contains(micros) else { throw Invalid() }
        case .name:
            guard wire.k.unicodeScalars.count <= ProjectRules.maximumNameLength * 4 else { throw Invalid() }
        }
        self.init(sort: expected, key: wire.k, id: id)
    }
}

/// `GET /v1/projects` parameters, validated.
public struct ProjectListQuery: Sendable, Hashable {
    public static let defaultLimit = 20
    public static let maximumLimit = 100

    public let archived: ArchivedFilter
    /// Case-insensitive substring of the name.
    public let search: String?
    public let sort: ProjectSort
    public let limit: Int
    public let after: ProjectCursor?

    /// Throws `DomainError.validation` for bad parameters and `ProjectCursor.Invalid` for a bad cursor.
    public init(archived: String?, search: String?, sort: String?, limit: String?, cursor: String?) throws {
        var errors: [FieldError] = []
        let archivedFilter = ArchivedFilter(rawValue: archived ?? "false")
        if archivedFilter == nil {
            errors.append(FieldError(field: "archived", code: "invalid_value", message: "Archived must be false, true or all."))
        }
        let sortOrder = ProjectSort(rawValue: sort ?? "updated_at")
        if sortOrder == nil {
            errors.append(FieldError(field: "sort", code: "invalid_value", message: "Sort must be updated_at or name."))
        }
        var count: Int? = Self.defaultLimit
        if let limit { count = Int(limit).flatMap { (1...Self.maximumLimit).contains($0) ? $0 : nil } }
        if count == nil {
            errors.append(FieldError(field: "limit", code: "invalid_value", message: "Limit must be an integer from 1 to \(Self.maximumLimit)."))
        }
        let trimmed = search?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let trimmed, trimmed.unicodeScalars.count > ProjectRules.maximumNameLength {
            errors.append(FieldError(field: "q", code: "too_long", message: "The search text must be at most \(ProjectRules.maximumNameLength) characters."))
        }
        guard errors.isEmpty, let archivedFilter, let sortOrder, let count else { throw DomainError.validation(errors) }
        self.archived = archivedFilter
        self.search = trimmed?.isEmpty == false ? trimmed : nil
        self.sort = sortOrder
        self.limit = count
        self.after = try cursor.map { token throws(ProjectCursor.Invalid) in try ProjectCursor(token: token, sort: sortOrder) }
    }
}

public struct ProjectPage: Sendable, Equatable {
    public let items: [Project]
    /// nil on the last page.
    public let next: ProjectCursor?

    public init(items: [Project], next: ProjectCursor?) {
        self.items = items
        self.next = next
    }
}

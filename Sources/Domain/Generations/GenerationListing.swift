import Foundation

/// Which generations `GET /v1/generations` lists, newest first.
public struct GenerationFilter: Sendable {
    public var projectID: UUID?
    public var status: GenerationStatus?
    public var kind: MediaKind?
    public var provider: ProviderID?
    public var createdAfter: Date?
    public var createdBefore: Date?
    /// After this (created_at in microseconds since 1970, id), newest first.
    public var cursor: GenerationCursor?
    public var limit: Int

    public init(projectID: UUID? = nil, status: GenerationStatus? = nil, kind: MediaKind? = nil, provider: ProviderID? = nil,
                createdAfter: Date? = nil, createdBefore: Date? = nil, cursor: GenerationCursor? = nil, limit: Int = 20) {
        self.projectID = projectID
        self.status = status
        self.kind = kind
        self.provider = provider
        self.createdAfter = createdAfter
        self.createdBefore = createdBefore
        self.cursor = cursor
        self.limit = limit
    }
}

/// A position in the newest-first listing: an opaque token to clients.
public struct GenerationCursor: Sendable, Equatable {
    public let createdMicroseconds: Int64
    public let id: UUID
    /// Issued by a page in oldest-first order (an asset listing's `sort=created_at`): such a cursor
    /// goes on only in that order, so a page is never read backwards from it.
    public let ascending: Bool

    public init(createdMicroseconds: Int64, id: UUID, ascending: Bool = false) {
        self.createdMicroseconds = createdMicroseconds
        self.id = id
        self.ascending = ascending
    }

    /// `<microseconds>.<uuid>` (newest first) or `<microseconds>.<uuid>.asc` in base64url; nil for
    /// anything this server did not issue.
    public init?(token: String) {
        guard token.count <= 128, let bytes = Base64URL.decode(token), let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 || (parts.count == 3 && parts[2] == "asc"), let micros = Int64(parts[0]), micros >= 0, micros < 1 << 53,
              let id = UUID(uuidString: String(parts[1]))
        else { return nil }
        self.init(createdMicroseconds: micros, id: id, ascending: parts.count == 3)
    }

    public var token: String {
        Base64URL.encode("\(createdMicroseconds).\(id.lowercasedString)\(ascending ? ".asc" : "")".utf8)
    }
}

import Foundation

public enum ProjectWriteOutcome<Value: Sendable>: Sendable {
    case done(Value)
    /// No row with this id is visible to the caller (absent, or another user's).
    case notFound
    /// The row exists but its version is not the one `If-Match` named.
    case versionMismatch
    /// The project has work in flight (a generation queued or running, or a reservation not
    /// yet ended), so it cannot be deleted now.
    case busy
}

/// Storage of projects, always acting as the given user (RLS decides what is visible).
public protocol ProjectStore: Sendable {
    func create(_ project: NewProject, as identity: AuthenticatedIdentity) throws -> Project
    func project(id: UUID, as identity: AuthenticatedIdentity) throws -> Project?
    /// One page in the query's order, and the cursor after it when more rows follow.
    func list(_ query: ProjectListQuery, as identity: AuthenticatedIdentity) throws -> ProjectPage
    /// `expectedVersion` nil: any version.
    func update(id: UUID, _ changes: ProjectChanges, expectedVersion: Int64?, as identity: AuthenticatedIdentity) throws -> ProjectWriteOutcome<Project>
    /// Deleted, with the storage keys its assets named (their rows go with it; the blobs are the
    /// caller's to remove where no other asset names them).
    func delete(id: UUID, expectedVersion: Int64?, as identity: AuthenticatedIdentity) throws -> ProjectWriteOutcome<[String]>
}

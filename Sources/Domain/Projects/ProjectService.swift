import Foundation

/// The projects use cases: validation, ownership (404 for anything not visible, never 403),
/// and optimistic concurrency through `If-Match`.
public struct ProjectService: Sendable {
    let store: any ProjectStore

    public init(store: any ProjectStore) {
        self.store = store
    }

    public func create(_ body: WireJSONObject, as identity: AuthenticatedIdentity) throws -> Project {
        try store.create(try ProjectRules.newProject(body), as: identity)
    }

    public func list(_ query: ProjectListQuery, as identity: AuthenticatedIdentity) throws -> ProjectPage {
        try store.list(query, as: identity)
    }

    public func get(id: String, as identity: AuthenticatedIdentity) throws -> Project {
        guard let uuid = UUID(uuidString: id), let project = try store.project(id: uuid, as: identity) else {
            throw DomainError.notFound(resource: "project")
        }
        return project
    }

    public func update(id: String, _ body: WireJSONObject, ifMatch: IfMatch?, as identity: AuthenticatedIdentity) throws -> Project {
        // An unknown id is 404 before the body is judged, as for GET.
        guard let uuid = UUID(uuidString: id) else { throw DomainError.notFound(resource: "project") }
        let changes = try ProjectRules.changes(body)
        switch try store.update(id: uuid, changes, expectedVersion: try expectedVersion(uuid, ifMatch, as: identity), as: identity) {
        case .done(let project): return project
        case .notFound: throw DomainError.notFound(resource: "project")
        case .versionMismatch: throw DomainError.preconditionFailed
        case .busy: throw Self.busy
        }
    }

    private static let busy = DomainError.conflict(
        code: "project_busy", detail: "The project has generations queued or running; cancel them or wait for them to end.")

    /// Permanent. A project with work in flight refuses with 409 project_busy. Returns the storage
    /// keys the project's assets named, whose blobs may now be unreferenced.
    @discardableResult
    public func delete(id: String, ifMatch: IfMatch?, as identity: AuthenticatedIdentity) throws -> [String] {
        guard let uuid = UUID(uuidString: id) else { throw DomainError.notFound(resource: "project") }
        switch try store.delete(id: uuid, expectedVersion: try expectedVersion(uuid, ifMatch, as: identity), as: identity) {
        case .done(let keys): return keys
        case .notFound: throw DomainError.notFound(resource: "project")
        case .versionMismatch: throw DomainError.preconditionFailed
        case .busy: throw Self.busy
        }
    }

    /// The version a conditional write must find: nil for no condition or `*`; otherwise the
    /// current representation's tag must be in the list (strong comparison), and the write then
    /// requires the version that tag was computed from, so a change in between still fails it.
    private func expectedVersion(_ id: UUID, _ ifMatch: IfMatch?, as identity: AuthenticatedIdentity) throws -> Int64? {
        guard let ifMatch, ifMatch != .any else { return nil }
        guard let current = try store.project(id: id, as: identity) else { throw DomainError.notFound(resource: "project") }
        guard ifMatch.isSatisfied(by: current.etag) else { throw DomainError.preconditionFailed }
        return current.version
    }
}

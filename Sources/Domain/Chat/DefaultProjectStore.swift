import Foundation

/// The project a request that names none is charged to: the user's default project, made on
/// first use (one per user).
public protocol DefaultProjectStore: Sendable {
    func defaultProject(claimsJSON: String) throws -> UUID
}

import Domain
import Foundation
import Synchronization

/// The default project of each user, found or made once and then remembered, so a chat request
/// without `X-Project-Id` costs no extra database round trip. A remembered id whose project was
/// deleted since is forgotten when the admission on it fails, and found (made) again.
final class DefaultProjects: Sendable {
    let store: any DefaultProjectStore
    private let known = Mutex<[UUID: UUID]>([:])
    /// Beyond this many users the memory starts over, so it stays bounded.
    static let maximumRemembered = 100_000

    init(store: any DefaultProjectStore) {
        self.store = store
    }

    /// The user's default project, and whether it came from memory.
    func project(for identity: AuthenticatedIdentity) throws -> (id: UUID, remembered: Bool) {
        if let id = known.withLock({ $0[identity.userID] }) { return (id, true) }
        let id = try store.defaultProject(claimsJSON: identity.claimsJSON)
        known.withLock { known in
            if known.count >= Self.maximumRemembered { known.removeAll() }
            known[identity.userID] = id
        }
        return (id, false)
    }

    /// Whether the user's default project is known without a database round trip.
    func remembers(_ userID: UUID) -> Bool {
        known.withLock { $0[userID] != nil }
    }

    func forget(_ userID: UUID) {
        _ = known.withLock { $0.removeValue(forKey: userID) }
    }
}

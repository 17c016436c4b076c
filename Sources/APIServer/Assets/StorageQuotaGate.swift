import Domain
import Foundation
import Synchronization

/// The storage quota where uploads and generations meet it. An upload reads what its user keeps
/// each time (`stored`); a generation, whose outputs become assets, is refused once its user keeps
/// the quota's worth, read at most every few seconds per user while they are under it: the sum
/// reads an index entry per asset, and a generation's outputs pass the quota by what is in flight
/// anyway. A refusal is always decided on a fresh read, so deleting assets makes room at once.
final class StorageQuotaGate: Sendable {
    let quota: StorageQuota
    private let store: any AssetStore
    private let recent = Mutex<[UUID: (used: Int64, readAt: UInt64)]>([:])

    static let rereadAfterNanoseconds: UInt64 = 5_000_000_000
    /// Users remembered at most; past it the memory starts again (a read each, no more).
    static let rememberedUsers = 10_000

    init(quota: StorageQuota, store: any AssetStore) {
        self.quota = quota
        self.store = store
    }

    /// What the caller keeps now, counted against the quota (nil: no quota).
    func stored(_ identity: AuthenticatedIdentity) throws -> Int64? {
        guard quota.bytes != nil else { return nil }
        return try store.storedBytes(claimsJSON: identity.claimsJSON)
    }

    /// An upload was stored: the user's next generation reads the sum again.
    func forget(_ user: UUID) {
        _ = recent.withLock { $0.removeValue(forKey: user) }
    }

    /// Throws `StorageQuotaExceeded` when the caller keeps the quota's worth of assets or more.
    func requireRoomForGeneration(_ identity: AuthenticatedIdentity) throws {
        guard quota.bytes != nil else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        if let known = recent.withLock({ $0[identity.userID] }), now &- known.readAt < Self.rereadAfterNanoseconds,
           (try? quota.check(used: known.used)) != nil {
            return
        }
        let used = try store.storedBytes(claimsJSON: identity.claimsJSON)
        remember(used, for: identity.userID)
        try quota.check(used: used)
    }

    /// `requireRoomForGeneration` for a request whose live-session check may have been deferred to
    /// admission: a refusal checks the session first, so an ended session is told so, not its usage.
    func requireRoomForGeneration(_ identity: AuthenticatedIdentity, confirmingSessionWith authenticator: Authenticator) throws {
        do {
            try requireRoomForGeneration(identity)
        } catch let refusal as StorageQuotaExceeded {
            try authenticator.requireLiveSession(identity)
            throw refusal
        }
    }

    private func remember(_ used: Int64, for user: UUID) {
        let now = DispatchTime.now().uptimeNanoseconds
        recent.withLock { recent in
            if recent.count >= Self.rememberedUsers, recent[user] == nil { recent.removeAll(keepingCapacity: true) }
            recent[user] = (used, now)
        }
    }
}

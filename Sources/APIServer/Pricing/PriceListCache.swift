import Domain
import Foundation
import Synchronization

/// The current pricing version for the provider adapters, which offer every model it prices.
/// Read at most once per `lifetime` (an import by `apiserver pricing import` in another process
/// is seen within that time); a store failure keeps the last version read, and no version yet is
/// asked again next time (the first import is seen at once).
final class PriceListCache: Sendable {
    /// What the lock guards, as one reference: copying a `PricingVersion` out under the lock
    /// retained each of its parts while the other HTTP threads waited (this was the server's most
    /// contended lock at 64 connections: every provider's capabilities ask for it on every request).
    private final class Snapshot: Sendable {
        let version: PricingVersion?
        let readAt: Date?

        init(version: PricingVersion?, readAt: Date?) {
            self.version = version
            self.readAt = readAt
        }
    }

    private let store: any PricingStore
    private let lifetime: TimeInterval
    private let state = Mutex<Snapshot>(Snapshot(version: nil, readAt: nil))

    init(store: any PricingStore, lifetime: TimeInterval = 30) {
        self.store = store
        self.lifetime = lifetime
    }

    func current() -> PricingVersion? {
        let now = Date()
        let cached = state.withLock { $0 }
        if let readAt = cached.readAt, now.timeIntervalSince(readAt) < lifetime { return cached.version }
        let version = (try? store.currentVersion()) ?? cached.version
        let fresh = Snapshot(version: version, readAt: version == nil ? nil : now)
        state.withLock { $0 = fresh }
        return version
    }
}

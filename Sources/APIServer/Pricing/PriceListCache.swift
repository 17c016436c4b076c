import Domain
import Foundation
import Synchronization

/// The current pricing version for the provider adapters, which offer every model it prices.
/// Read at most once per `lifetime` (an import by `apiserver pricing import` in another process
/// is seen within that time); a store failure keeps the last version read, and no version yet is
/// asked again next time (the first import is seen at once).
final class PriceListCache: Sendable {
    private let store: any PricingStore
    private let lifetime: TimeInterval
    private let state = Mutex<(version: PricingVersion?, readAt: Date?)>((nil, nil))

    init(store: any PricingStore, lifetime: TimeInterval = 30) {
        self.store = store
        self.lifetime = lifetime
    }

    func current() -> PricingVersion? {
        let now = Date()
        let cached = state.withLock { $0 }
        if let readAt = cached.readAt, now.timeIntervalSince(readAt) < lifetime { return cached.version }
        let version = (try? store.currentVersion()) ?? cached.version
        state.withLock { $0 = (version, version == nil ? nil : now) }
        return version
    }
}

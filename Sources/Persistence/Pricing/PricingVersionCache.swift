import Domain
import Foundation
import Synchronization

/// Decoded pricing versions by id. A stored version never changes (an import adds a new one), so
/// a version decoded once is the version: decoding the catalog document took most of a
/// generation's CPU when every quote, admission and settlement decoded it again. Bounded: past
/// `capacity` versions the oldest-inserted is dropped.
final class PricingVersionCache: Sendable {
    private let versions = Mutex<(byID: [String: PricingVersion], order: [String])>(([:], []))
    let capacity: Int

    init(capacity: Int = 8) {
        self.capacity = max(1, capacity)
    }

    func version(_ id: String) -> PricingVersion? {
        versions.withLock { $0.byID[id] }
    }

    func remember(_ version: PricingVersion) {
        versions.withLock { state in
            guard state.byID[version.id] == nil else { return }
            state.byID[version.id] = version
            state.order.append(version.id)
            while state.order.count > capacity {
                state.byID.removeValue(forKey: state.order.removeFirst())
            }
        }
    }
}

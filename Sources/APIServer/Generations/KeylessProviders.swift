import Domain
import Synchronization

/// Which providers run without a stored key (the offline one), read from the catalog at the first
/// generation that asks rather than at start-up: the catalog reads the price list from the
/// database, which nothing before readiness needs (BENCHMARKS.md, "Footprint").
final class KeylessProviders: Sendable {
    private let catalog: @Sendable () -> [ProviderCapabilities]
    private let providers = Mutex<Set<ProviderID>?>(nil)

    init(catalog: @escaping @Sendable () -> [ProviderCapabilities]) {
        self.catalog = catalog
    }

    func contains(_ provider: ProviderID) -> Bool {
        providers.withLock { known in
            let keyless = known ?? Set(catalog().filter { !$0.requiresKey }.map(\.provider))
            known = keyless
            return keyless.contains(provider)
        }
    }
}

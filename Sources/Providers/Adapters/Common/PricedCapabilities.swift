import Domain
import Synchronization

/// An adapter's capabilities built from the current price list, kept until the list changes (a
/// pricing import gives it another fingerprint). The router asks every provider about the model
/// of every request; building a list from the price list on each of those calls took about a fifth
/// of the server's CPU under chat load.
final class PricedCapabilities: Sendable {
    /// The list built last and the price list it was built from, as one reference under the lock.
    private final class Built: Sendable {
        let pricingID: String?
        let fingerprint: String?
        let capabilities: ProviderCapabilities

        init(pricingID: String?, fingerprint: String?, capabilities: ProviderCapabilities) {
            self.pricingID = pricingID
            self.fingerprint = fingerprint
            self.capabilities = capabilities
        }
    }

    private let priceList: @Sendable () -> PricingVersion?
    private let build: @Sendable (PricingVersion?) -> ProviderCapabilities
    private let last = Mutex<Built?>(nil)

    init(priceList: @escaping @Sendable () -> PricingVersion?, build: @escaping @Sendable (PricingVersion?) -> ProviderCapabilities) {
        self.priceList = priceList
        self.build = build
    }

    func current() -> ProviderCapabilities {
        let prices = priceList()
        if let cached = last.withLock({ $0 }), cached.pricingID == prices?.id, cached.fingerprint == prices?.fingerprint {
            return cached.capabilities
        }
        let capabilities = build(prices)
        let built = Built(pricingID: prices?.id, fingerprint: prices?.fingerprint, capabilities: capabilities)
        last.withLock { $0 = built }
        return capabilities
    }
}

import Domain
import Synchronization

/// An adapter's capabilities built from the current price list, kept until the list changes (a
/// pricing import gives it another fingerprint). The router asks every provider about the model
/// of every request; building a list from the price list on each of those calls took about a fifth
/// of the server's CPU under chat load.
final class PricedCapabilities: Sendable {
    private let priceList: @Sendable () -> PricingVersion?
    private let build: @Sendable (PricingVersion?) -> ProviderCapabilities
    private let last = Mutex<(fingerprint: String?, capabilities: ProviderCapabilities)?>(nil)

    init(priceList: @escaping @Sendable () -> PricingVersion?, build: @escaping @Sendable (PricingVersion?) -> ProviderCapabilities) {
        self.priceList = priceList
        self.build = build
    }

    func current() -> ProviderCapabilities {
        let prices = priceList()
        let fingerprint = prices.map { $0.id + "/" + $0.fingerprint }
        if let cached = last.withLock({ $0 }), cached.fingerprint == fingerprint { return cached.capabilities }
        let capabilities = build(prices)
        last.withLock { $0 = (fingerprint, capabilities) }
        return capabilities
    }
}

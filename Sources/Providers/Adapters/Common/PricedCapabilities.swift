import Domain
import Synchronization

/// An adapter's capabilities for the price list they were built from, kept until the list changes
/// (a pricing import gives it another fingerprint). The router asks every provider about the model
/// of every request; building a list from the price list on each of those calls took about a fifth
/// of the server's CPU under chat load.
final class CapabilitiesMemo: Sendable {
    private let last = Mutex<(fingerprint: String?, capabilities: ProviderCapabilities)?>(nil)

    func capabilities(for prices: PricingVersion?, build: () -> ProviderCapabilities) -> ProviderCapabilities {
        let fingerprint = prices.map { $0.id + "/" + $0.fingerprint }
        if let cached = last.withLock({ $0 }), cached.fingerprint == fingerprint { return cached.capabilities }
        let capabilities = build()
        last.withLock { $0 = (fingerprint, capabilities) }
        return capabilities
    }
}

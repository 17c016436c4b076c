import Domain
import Synchronization

/// FAL's capabilities for the price list they were built from, kept until the list changes (a
/// pricing import gives it another fingerprint).
final class FALCapabilitiesMemo: Sendable {
    private let last = Mutex<(fingerprint: String?, capabilities: ProviderCapabilities)?>(nil)

    func capabilities(for prices: PricingVersion?, build: () -> ProviderCapabilities) -> ProviderCapabilities {
        let fingerprint = prices.map { $0.id + "/" + $0.fingerprint }
        if let cached = last.withLock({ $0 }), cached.fingerprint == fingerprint { return cached.capabilities }
        let capabilities = build()
        last.withLock { $0 = (fingerprint, capabilities) }
        return capabilities
    }
}

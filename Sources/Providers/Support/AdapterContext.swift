import Domain
import Foundation

/// What every adapter shares: the libcurl client, the retry rules and timing, and the log sink.
public struct AdapterContext: Sendable {
    public let client: CurlClient
    public let retryPolicy: RetryPolicy
    public let timing: RetryTiming
    public let logger: ProviderLogger
    /// The current price list: adapters whose wire format does not depend on the model offer every
    /// model it prices for them. Nil (the default) offers only the adapters' own lists.
    public let priceList: @Sendable () -> PricingVersion?

    public init(client: CurlClient, retryPolicy: RetryPolicy = RetryPolicy(), timing: RetryTiming = .live,
                logger: ProviderLogger = .standardError, priceList: @escaping @Sendable () -> PricingVersion? = { nil }) {
        self.client = client
        self.retryPolicy = retryPolicy
        self.timing = timing
        self.logger = logger
        self.priceList = priceList
    }

    func http(_ provider: ProviderID, mapError: @escaping @Sendable (ErrorResponse) -> ProviderError) -> ProviderHTTP {
        ProviderHTTP(provider: provider, client: client, retryPolicy: retryPolicy, timing: timing, logger: logger,
                     mapError: mapError)
    }
}

import Domain
import Foundation

/// What every adapter shares: the libcurl client, the retry rules and timing, and the log sink.
public struct AdapterContext: Sendable {
    public let client: CurlClient
    public let retryPolicy: RetryPolicy
    public let timing: RetryTiming
    public let logger: ProviderLogger

    public init(client: CurlClient, retryPolicy: RetryPolicy = RetryPolicy(), timing: RetryTiming = .live,
                logger: ProviderLogger = .standardError) {
        self.client = client
        self.retryPolicy = retryPolicy
        self.timing = timing
        self.logger = logger
    }

    func http(_ provider: ProviderID, mapError: @escaping @Sendable (ErrorResponse) -> ProviderError) -> ProviderHTTP {
        ProviderHTTP(provider: provider, client: client, retryPolicy: retryPolicy, timing: timing, logger: logger,
                     mapError: mapError)
    }
}

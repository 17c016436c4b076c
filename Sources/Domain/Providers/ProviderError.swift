import Foundation

/// The one failure type every provider adapter throws, so no provider-specific type leaks out.
///
/// `message` is scrubbed of the key (and of anything shaped like a key) when the error is made,
/// and `description` is built only from scrubbed parts, so logging or returning an error cannot
/// reveal a secret (STYLE.md "Redacted descriptions").
public struct ProviderError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable, Codable {
        /// Slow down; `retryAfter` seconds when the provider said so.
        case rateLimited(retryAfter: Double?)
        case invalidKey
        /// Out of credits, quota or billing (OpenAI `insufficient_quota`, OpenRouter 402,
        /// ElevenLabs `quota_exceeded`): retrying will not help until someone pays.
        case quotaExhausted
        /// The provider's safety system refused the prompt, input or output.
        case contentRefused
        case badRequest
        /// The model, voice or task does not exist (or the key may not see it).
        case notFound
        case permissionDenied
        /// 5xx, overload (Anthropic 529), provider shedding load.
        case providerDown
        case timeout
        /// Connection refused, reset, DNS, TLS: the call did not complete.
        case network
        case responseTooLarge
        case malformedResponse
        /// An accepted asynchronous task ended in failure for a reason other than the above.
        case generationFailed
        case cancelled
        /// The provider cannot do this at all (unknown model, missing local tool).
        case unsupported
    }

    public let kind: Kind
    public let provider: ProviderID
    public let message: String
    public let httpStatus: Int?
    /// The provider's own machine code (`insufficient_quota`, `overloaded_error`, `SAFETY.INPUT.TEXT`).
    public let providerCode: String?
    public let providerRequestID: String?
    /// Set when the provider said explicitly whether to retry (OpenAI `x-should-retry`, a
    /// `Retry-After` on OpenRouter's 402); otherwise `kind` decides.
    public let retryOverride: Bool?
    /// The answer's rate-limit headers (`x-ratelimit-*`, `anthropic-ratelimit-*`, `retry-after`),
    /// names lowercased, for the router's rate-limit view; nil when it sent none.
    public let rateLimitHeaders: [String: String]?
    /// Usage the provider reported before the call failed (a stream cut after Anthropic's
    /// `message_start`, which carries the input tokens): work it may have billed, so the engine
    /// charges it. nil: none was reported.
    public var usageBeforeFailure: NormalisedUsage?
    /// A paid call that was sent and whose answer was lost (a timeout or a broken connection after
    /// the request went out): the provider may have run and billed it, so it is neither sent again
    /// nor released as free; the engine charges it as an unknown outcome.
    public var mayHaveBeenBilled = false

    public init(_ kind: Kind, provider: ProviderID, message: String, httpStatus: Int? = nil,
                providerCode: String? = nil, providerRequestID: String? = nil, retryOverride: Bool? = nil,
                rateLimitHeaders: [String: String]? = nil, scrubbing secrets: [String] = []) {
        self.kind = kind
        self.provider = provider
        self.message = SecretScrubber.scrub(message, secrets: secrets)
        self.httpStatus = httpStatus
        self.providerCode = providerCode.map { SecretScrubber.scrub($0, secrets: secrets) }
        self.providerRequestID = providerRequestID
        self.retryOverride = retryOverride
        self.rateLimitHeaders = rateLimitHeaders
    }

    /// Whether trying again (here or at another provider) may succeed. The router records
    /// retryable failures on the provider's health and falls through to the next provider.
    public var isRetryable: Bool {
        if let retryOverride { return retryOverride }
        switch kind {
        case .rateLimited, .providerDown, .timeout, .network: return true
        default: return false
        }
    }

    public var retryAfter: Double? {
        if case let .rateLimited(retryAfter) = kind { return retryAfter }
        return nil
    }

    /// Stable snake_case code for APIs, metrics and logs.
    public var code: String {
        switch kind {
        case .rateLimited: "rate_limited"
        case .invalidKey: "invalid_key"
        case .quotaExhausted: "quota_exhausted"
        case .contentRefused: "content_refused"
        case .badRequest: "bad_request"
        case .notFound: "not_found"
        case .permissionDenied: "permission_denied"
        case .providerDown: "provider_down"
        case .timeout: "timeout"
        case .network: "network_error"
        case .responseTooLarge: "response_too_large"
        case .malformedResponse: "malformed_response"
        case .generationFailed: "generation_failed"
        case .cancelled: "cancelled"
        case .unsupported: "unsupported"
        }
    }

    public var description: String {
        var parts = ["\(provider.rawValue) \(code)"]
        if let httpStatus { parts.append("HTTP \(httpStatus)") }
        if let providerCode { parts.append("[\(providerCode)]") }
        if let retryAfter { parts.append("retry after \(retryAfter)s") }
        return parts.joined(separator: " ") + ": " + message
    }

    /// The same error under another kind, everything else kept (e.g. a 400 that is really a refusal).
    public func with(kind newKind: Kind) -> ProviderError {
        var error = ProviderError(newKind, provider: provider, message: message, httpStatus: httpStatus,
                                  providerCode: providerCode, providerRequestID: providerRequestID, retryOverride: retryOverride,
                                  rateLimitHeaders: rateLimitHeaders)
        error.usageBeforeFailure = usageBeforeFailure
        return error
    }
}

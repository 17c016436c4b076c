import Domain
import Foundation

/// What an adapter uses to talk to its provider: the shared `CurlClient`, plus the provider's
/// error mapping, the retry loop and logging. Each `send` comes twice: suspended (generation
/// steps: submit, poll, cancel) and blocking (short calls on the deferred work queues); both
/// judge an attempt with the same `judge`.
public struct ProviderHTTP: Sendable {
    public let provider: ProviderID
    public let client: CurlClient
    public let retryPolicy: RetryPolicy
    public let timing: RetryTiming
    public let logger: ProviderLogger
    let mapError: @Sendable (ErrorResponse) -> ProviderError

    public init(provider: ProviderID, client: CurlClient, retryPolicy: RetryPolicy, timing: RetryTiming,
                logger: ProviderLogger, mapError: @escaping @Sendable (ErrorResponse) -> ProviderError) {
        self.provider = provider
        self.client = client
        self.retryPolicy = retryPolicy
        self.timing = timing
        self.logger = logger
        self.mapError = mapError
    }

    public var configuration: HTTPClientConfiguration { client.configuration }

    /// Sends `request`, retrying what providers.md classifies as retryable, and returns the 2xx
    /// response or throws the mapped error. `secrets` are scrubbed from everything logged or thrown.
    /// The caller is suspended, holding no thread, while the transfer runs (`CurlMultiLoop`) and
    /// between retries.
    public func send(_ request: OutboundRequest, secrets: [String]) async throws(ProviderError) -> OutboundResponse {
        var attempt = 0
        while true {
            attempt += 1
            let started = timing.now()
            let outcome = await client.send(request)
            switch judge(outcome, request: request, attempt: attempt, started: started, secrets: secrets) {
            case let .success(response): return response
            case let .failure(failure): throw failure
            case let .retry(delay):
                await timing.pause(delay)
                if Task.isCancelled {
                    throw ProviderError(.cancelled, provider: provider, message: "the call was cancelled", retryOverride: false)
                }
            }
        }
    }

    /// The same, blocking the calling thread: for the short calls that stay synchronous (key
    /// checks, voices, token counts) on the deferred work queues.
    public func send(_ request: OutboundRequest, secrets: [String]) throws(ProviderError) -> OutboundResponse {
        var attempt = 0
        while true {
            attempt += 1
            let started = timing.now()
            let outcome = client.perform(request)
            switch judge(outcome, request: request, attempt: attempt, started: started, secrets: secrets) {
            case let .success(response): return response
            case let .failure(failure): throw failure
            case let .retry(delay): timing.sleep(delay)
            }
        }
    }

    enum Verdict {
        case success(OutboundResponse)
        case failure(ProviderError)
        case retry(after: Double)
    }

    /// What one attempt's outcome means: the answer, the error to throw, or a wait before the
    /// next attempt. Logs the attempt.
    func judge(_ outcome: Result<OutboundResponse, TransportError>, request: OutboundRequest, attempt: Int, started: Date,
               secrets: [String]) -> Verdict {
        let elapsed = Int(timing.now().timeIntervalSince(started) * 1000)
        var failure: ProviderError
        var serverWait: Double?
        var mayRetrySafely = true
        switch outcome {
        case let .success(response) where response.isSuccess:
            log(.info, "provider.http", request, attempt: attempt, secrets: secrets,
                ["status": String(response.status), "duration_ms": String(elapsed)])
            return .success(response)
        case let .success(response):
            serverWait = RetryAfter.seconds(from: response.headers, now: timing.now())
            let prepared = ErrorResponse(provider: provider, response: response, retryAfter: serverWait, secrets: secrets)
            failure = Self.applyShouldRetry(mapError(prepared), headers: response.headers)
            // Any answer proves the request arrived; an at-most-once call may have been billed.
            mayRetrySafely = !request.isAtMostOnce
            log(.warning, "provider.http", request, attempt: attempt, secrets: secrets,
                ["status": String(response.status), "duration_ms": String(elapsed), "error": failure.code])
        case let .failure(transport):
            failure = transportFailure(transport, secrets: secrets)
            mayRetrySafely = (request.isIdempotent && !request.isAtMostOnce) || !transport.mayHaveReachedServer
            // A paid call sent whole, its answer lost: the provider may have run and billed it.
            failure.mayHaveBeenBilled = transport.mayHaveReachedServer && !request.isIdempotent
            log(.warning, "provider.http", request, attempt: attempt, secrets: secrets,
                ["error": failure.code, "detail": transport.message, "duration_ms": String(elapsed)])
        }
        guard failure.isRetryable, mayRetrySafely, attempt < retryPolicy.maxAttempts,
              let delay = retryPolicy.delay(afterAttempt: attempt, retryAfter: failure.retryAfter ?? serverWait,
                                            random: timing.random())
        else { return .failure(failure) }
        log(.info, "provider.http.retry", request, attempt: attempt, secrets: secrets,
            ["delay_ms": String(Int(delay * 1000)), "error": failure.code])
        return .retry(after: delay)
    }

    /// Sends and parses a JSON answer, suspended meanwhile.
    public func sendJSON(_ request: OutboundRequest, secrets: [String]) async throws(ProviderError) -> (WireJSON, OutboundResponse) {
        try parseJSON(try await send(request, secrets: secrets), secrets: secrets)
    }

    /// Sends and parses a JSON answer, blocking.
    public func sendJSON(_ request: OutboundRequest, secrets: [String]) throws(ProviderError) -> (WireJSON, OutboundResponse) {
        try parseJSON(try send(request, secrets: secrets), secrets: secrets)
    }

    private func parseJSON(_ response: OutboundResponse, secrets: [String]) throws(ProviderError) -> (WireJSON, OutboundResponse) {
        do {
            return (try WireJSON.parse(response.body), response)
        } catch {
            throw malformed("response is not JSON (\(error.reason))", response: response, secrets: secrets)
        }
    }

    public func malformed(_ message: String, response: OutboundResponse? = nil, secrets: [String]) -> ProviderError {
        ProviderError(.malformedResponse, provider: provider, message: message, httpStatus: response?.status,
                      providerRequestID: response.flatMap { r in ErrorResponse.requestIDHeaders.lazy.compactMap { r.headers[$0] }.first },
                      scrubbing: secrets)
    }

    /// OpenAI and Anthropic send `x-should-retry` to overrule the status-based decision.
    static func applyShouldRetry(_ error: ProviderError, headers: HTTPHeaders) -> ProviderError {
        guard let value = headers["x-should-retry"]?.lowercased(), value == "true" || value == "false" else { return error }
        return ProviderError(error.kind, provider: error.provider, message: error.message, httpStatus: error.httpStatus,
                             providerCode: error.providerCode, providerRequestID: error.providerRequestID,
                             retryOverride: value == "true", rateLimitHeaders: error.rateLimitHeaders)
    }

    func transportFailure(_ transport: TransportError, secrets: [String]) -> ProviderError {
        let kind: ProviderError.Kind
        var retry: Bool?
        switch transport.kind {
        case .timeout: kind = .timeout
        case .connectFailed, .connectionLost: kind = .network
        case .tls: kind = .network; retry = false
        case .responseTooLarge: kind = .responseTooLarge
        case .outputFile: kind = .generationFailed; retry = false
        case .redirectRefused: kind = .malformedResponse
        case .addressRefused: kind = .malformedResponse; retry = false
        case .invalidURL: kind = .badRequest
        case .cancelled: kind = .cancelled; retry = false
        case .other: kind = .network
        }
        return ProviderError(kind, provider: provider, message: transport.message, retryOverride: retry, scrubbing: secrets)
    }

    private func log(_ level: ProviderLogRecord.Level, _ event: String, _ request: OutboundRequest, attempt: Int,
                     secrets: [String], _ fields: [String: String]) {
        guard logger.isEnabled(level) else { return }
        var all = fields
        all["method"] = request.method.rawValue
        all["url"] = Self.loggableURL(request.url)
        all["attempt"] = String(attempt)
        logger.log(level, event, provider: provider, all, scrubbing: secrets)
    }

    /// Scheme, host and path only: query strings may carry tokens (signed download URLs).
    static func loggableURL(_ url: String) -> String {
        guard let components = URLComponents(string: url) else { return "(unparseable url)" }
        var trimmed = components
        trimmed.query = nil
        trimmed.fragment = nil
        trimmed.user = nil
        trimmed.password = nil
        return trimmed.string ?? "(unparseable url)"
    }
}

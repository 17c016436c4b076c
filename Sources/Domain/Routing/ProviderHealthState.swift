import Foundation

/// The circuit in front of one provider for one user.
public enum CircuitState: String, Sendable, Codable, Equatable {
    /// Requests flow.
    case closed
    /// Too many retryable failures in a row: the router skips the provider until `reopenAt`.
    case open
    /// The cooldown has passed: the next attempt is a trial whose outcome closes or reopens it.
    case halfOpen = "half_open"
}

/// The health summary shown to users.
public enum HealthStatus: String, Sendable, Codable, Equatable {
    /// The last attempt succeeded (or none was made).
    case healthy
    /// Recent retryable failures, or a half-open circuit on trial.
    case degraded
    /// The circuit is open.
    case down
}

/// The thresholds of the health policy. The same numbers are given to the store's statement, so
/// the database applies exactly the transitions of `ProviderHealthState`.
public struct HealthPolicy: Sendable, Equatable {
    /// Consecutive retryable failures that open the circuit.
    public let failureThreshold: Int
    /// How long an opened circuit stays open before the next attempt may try it (half-open).
    public let cooldown: TimeInterval
    /// Weight of the newest latency in the moving average (0 < α ≤ 1).
    public let latencyWeight: Double

    public static let standard = HealthPolicy(failureThreshold: 5, cooldown: 30, latencyWeight: 0.2)

    public init(failureThreshold: Int, cooldown: TimeInterval, latencyWeight: Double) {
        self.failureThreshold = max(1, failureThreshold)
        self.cooldown = max(0, cooldown)
        self.latencyWeight = min(1, max(0.01, latencyWeight))
    }
}

/// One provider's health as one user's attempts saw it. A value: `recording` returns the next state.
///
/// Rules: a success closes the circuit and clears the failure streak; a retryable failure
/// (timeout, 429, 5xx, overload, network) extends the streak and opens the circuit when the streak
/// reaches the threshold, or when a half-open trial fails; a failure while the circuit is still
/// open (an attempt that started before it opened) keeps its reopen time. A non-retryable failure
/// (bad request, refusal, bad key) is the request's or the account's fault, not the provider's
/// availability: it is recorded as the last error and changes neither streak nor circuit.
public struct ProviderHealthState: Sendable, Equatable {
    public var consecutiveFailures: Int
    public var lastErrorCode: String?
    public var lastErrorAt: Date?
    public var lastSuccessAt: Date?
    /// Exponential moving average of successful attempts' latency, in milliseconds.
    public var latencyMilliseconds: Double?
    /// nil: closed. Otherwise open until then, half-open from then on.
    public var reopenAt: Date?

    public static let unknown = ProviderHealthState()

    public init(consecutiveFailures: Int = 0, lastErrorCode: String? = nil, lastErrorAt: Date? = nil,
                lastSuccessAt: Date? = nil, latencyMilliseconds: Double? = nil, reopenAt: Date? = nil) {
        self.consecutiveFailures = consecutiveFailures
        self.lastErrorCode = lastErrorCode
        self.lastErrorAt = lastErrorAt
        self.lastSuccessAt = lastSuccessAt
        self.latencyMilliseconds = latencyMilliseconds
        self.reopenAt = reopenAt
    }

    public func circuit(at now: Date) -> CircuitState {
        guard let reopenAt else { return .closed }
        return now < reopenAt ? .open : .halfOpen
    }

    public func status(at now: Date) -> HealthStatus {
        switch circuit(at: now) {
        case .open: .down
        case .halfOpen: .degraded
        case .closed: consecutiveFailures == 0 ? .healthy : .degraded
        }
    }

    /// Whether the router may send an attempt now (closed, or half-open for a trial).
    public func admitsAttempt(at now: Date) -> Bool {
        circuit(at: now) != .open
    }

    public func recordingSuccess(latency: TimeInterval, at now: Date, policy: HealthPolicy = .standard) -> ProviderHealthState {
        var next = self
        let sample = max(0, latency * 1000)
        next.latencyMilliseconds = latencyMilliseconds.map { $0 * (1 - policy.latencyWeight) + sample * policy.latencyWeight } ?? sample
        next.consecutiveFailures = 0
        next.lastSuccessAt = now
        next.reopenAt = nil
        return next
    }

    public func recordingFailure(code: String, retryable: Bool, at now: Date, policy: HealthPolicy = .standard) -> ProviderHealthState {
        var next = self
        next.lastErrorCode = String(code.prefix(ProviderHealthState.maximumCodeLength))
        next.lastErrorAt = now
        guard retryable else { return next }
        next.consecutiveFailures = consecutiveFailures == Int.max ? Int.max : consecutiveFailures + 1
        switch circuit(at: now) {
        case .open: break
        case .halfOpen: next.reopenAt = now.addingTimeInterval(policy.cooldown)
        case .closed:
            if next.consecutiveFailures >= policy.failureThreshold { next.reopenAt = now.addingTimeInterval(policy.cooldown) }
        }
        return next
    }

    /// Takes the one trial a half-open circuit allows: the circuit is open again for a cooldown
    /// while the trial runs, so no other attempt (in any process) is sent meanwhile; the trial's
    /// success closes it, and if its holder never reports, it half-opens again after the cooldown.
    /// nil when the circuit is not half-open (closed: no trial needed; open: none allowed).
    public func claimingTrial(at now: Date, policy: HealthPolicy = .standard) -> ProviderHealthState? {
        guard circuit(at: now) == .halfOpen else { return nil }
        var next = self
        next.reopenAt = now.addingTimeInterval(policy.cooldown)
        return next
    }

    /// The stored column's bound.
    public static let maximumCodeLength = 64
}

/// What one attempt at a provider came to, as the engine reports it after every attempt.
public enum AttemptOutcome: Sendable, Equatable {
    case success(latency: TimeInterval)
    case failure(code: String, retryable: Bool)

    /// From the adapter's error: its stable code and whether another try may succeed.
    public init(_ error: ProviderError) {
        self = .failure(code: error.code, retryable: error.isRetryable)
    }
}

extension ProviderHealthState {
    public func recording(_ outcome: AttemptOutcome, at now: Date, policy: HealthPolicy = .standard) -> ProviderHealthState {
        switch outcome {
        case .success(let latency): recordingSuccess(latency: latency, at: now, policy: policy)
        case .failure(let code, let retryable): recordingFailure(code: code, retryable: retryable, at: now, policy: policy)
        }
    }
}

/// Health storage shared by every process (PostgreSQL), acting as the given user.
public protocol ProviderHealthStore: Sendable {
    /// Applies one attempt's outcome atomically (one statement) and returns the new state.
    func record(_ outcome: AttemptOutcome, provider: ProviderID, at now: Date, claimsJSON: String) throws -> ProviderHealthState
    /// Takes a half-open circuit's single trial atomically (see `ProviderHealthState.claimingTrial`);
    /// false when the circuit is not half-open, e.g. another process took the trial first.
    func claimTrial(provider: ProviderID, at now: Date, claimsJSON: String) throws -> Bool
    /// Every provider the user has a health row for.
    func health(claimsJSON: String) throws -> [ProviderID: ProviderHealthState]
}

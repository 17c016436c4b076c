import Foundation

/// The request budget of one user's credential at one provider: a token bucket refilled at the
/// configured requests per minute (capacity one minute's worth), tightened by what the provider
/// said. Without a configured rate the bucket does not count; only the provider's own
/// `blockedUntil` applies. A value; the store applies the same arithmetic in one statement.
public struct TokenBucket: Sendable, Equatable {
    public var tokens: Double
    public var updatedAt: Date
    public var blockedUntil: Date?

    public init(tokens: Double, updatedAt: Date, blockedUntil: Date? = nil) {
        self.tokens = tokens
        self.updatedAt = updatedAt
        self.blockedUntil = blockedUntil
    }

    /// A bucket never used: full.
    public static func fresh(requestsPerMinute: Int?, at now: Date) -> TokenBucket {
        TokenBucket(tokens: Double(requestsPerMinute ?? 0), updatedAt: now)
    }

    /// Tokens at `now`: refilled for the time since `updatedAt` (never for time going backwards,
    /// as two processes' clocks may disagree slightly), capped at the capacity.
    public func tokens(at now: Date, requestsPerMinute: Int) -> Double {
        let elapsed = max(0, now.timeIntervalSince(updatedAt))
        return min(Double(requestsPerMinute), tokens + elapsed * Double(requestsPerMinute) / 60)
    }

    /// When one request may be made: `now` when it may be made now.
    public func availableAt(_ now: Date, requestsPerMinute: Int?) -> Date {
        var earliest = now
        if let blockedUntil, blockedUntil > earliest { earliest = blockedUntil }
        if let requestsPerMinute, requestsPerMinute > 0 {
            let missing = 1 - tokens(at: now, requestsPerMinute: requestsPerMinute)
            if missing > 0 {
                let refill = now.addingTimeInterval(missing * 60 / Double(requestsPerMinute))
                if refill > earliest { earliest = refill }
            }
        }
        return earliest
    }

    public enum Acquisition: Sendable, Equatable {
        case granted(TokenBucket)
        /// Nothing was taken; a request may be made from `retryAt` on.
        case refused(retryAt: Date)
    }

    /// Takes one request's token, or refuses with the time one will be available.
    public func acquiring(at now: Date, requestsPerMinute: Int?) -> Acquisition {
        let available = availableAt(now, requestsPerMinute: requestsPerMinute)
        guard available <= now else { return .refused(retryAt: available) }
        guard let requestsPerMinute, requestsPerMinute > 0 else { return .granted(self) }
        return .granted(TokenBucket(tokens: tokens(at: now, requestsPerMinute: requestsPerMinute) - 1,
                                    updatedAt: max(now, updatedAt), blockedUntil: blockedUntil))
    }

    /// Learns from a provider's answer: never more tokens than it says remain, and no request
    /// before the time it asked for. A later block never shortens an earlier one.
    public func observing(_ observation: RateLimitObservation, at now: Date, requestsPerMinute: Int?) -> TokenBucket {
        var next = self
        if let requestsPerMinute, requestsPerMinute > 0 {
            next.tokens = tokens(at: now, requestsPerMinute: requestsPerMinute)
            next.updatedAt = max(now, updatedAt)
            if let remaining = observation.remainingRequests { next.tokens = min(next.tokens, Double(remaining)) }
        }
        if let until = observation.blockedUntil {
            next.blockedUntil = max(until, blockedUntil ?? until)
        }
        return next
    }
}

/// The buckets, shared by every process (PostgreSQL), acting as the given user.
public protocol RateLimitStore: Sendable {
    /// Takes a token for one attempt, atomically; `.refused` takes nothing.
    func acquire(provider: ProviderID, requestsPerMinute: Int?, at now: Date, claimsJSON: String) throws -> TokenBucket.Acquisition
    /// Applies what a provider's answer said (headers, retry-after).
    func observe(_ observation: RateLimitObservation, provider: ProviderID, requestsPerMinute: Int?, at now: Date,
                 claimsJSON: String) throws
    /// The stored buckets, for planning (nothing taken).
    func buckets(claimsJSON: String) throws -> [ProviderID: TokenBucket]
}

import Foundation
import Synchronization

/// Per-key token buckets (GoTrue's limiter: a burst, refilled at a steady rate). Keys are client
/// addresses; idle buckets are dropped so the table cannot grow without bound.
final class RateLimiter: Sendable {
    struct Rule: Sendable {
        let burst: Double
        /// Tokens added per second.
        let refillPerSecond: Double

        static func perWindow(_ count: Double, seconds: Double, burst: Double) -> Rule {
            Rule(burst: burst, refillPerSecond: count / seconds)
        }
    }

    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    let rule: Rule
    private let buckets = Mutex<[String: Bucket]>([:])
    private static let maximumKeys = 100_000

    init(_ rule: Rule) {
        self.rule = rule
    }

    /// Takes one token for `key`; when none is left, returns the seconds until one will be.
    func take(_ key: String, now: Double = Date().timeIntervalSince1970) -> Int? {
        buckets.withLock { buckets in
            if buckets.count >= Self.maximumKeys {
                // A full bucket is the same as no bucket, so dropping refilled ones loses nothing.
                buckets = buckets.filter { now - $0.value.updated < rule.burst / rule.refillPerSecond }
            }
            var bucket = buckets[key] ?? Bucket(tokens: rule.burst, updated: now)
            bucket.tokens = min(rule.burst, bucket.tokens + (now - bucket.updated) * rule.refillPerSecond)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / rule.refillPerSecond).rounded(.up)))
        }
    }
}

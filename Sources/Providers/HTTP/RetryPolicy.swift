import Foundation

/// When and how long to wait before trying a failed call again.
///
/// Defaults follow the official SDKs (providers.md §0): two retries, `0.5 s × 2ⁿ` capped at
/// 8 s with up to 25 % jitter, and a server's `retry-after` honoured when it asks for at most a
/// minute. A longer wait is not sat out in a worker thread: the error goes back to the router,
/// which can use another provider.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var initialDelay: Double
    public var maxDelay: Double
    /// The longest server-requested wait that is honoured by waiting.
    public var maxRetryAfter: Double
    /// Fraction of the backoff removed at random, so many clients do not retry in step.
    public var jitter: Double

    public init(maxAttempts: Int = 3, initialDelay: Double = 0.5, maxDelay: Double = 8,
                maxRetryAfter: Double = 60, jitter: Double = 0.25) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
        self.jitter = jitter
    }

    public static let none = RetryPolicy(maxAttempts: 1)

    /// The wait before attempt `failedAttempt + 1`, or nil when the server asked for longer than
    /// `maxRetryAfter`. `random` is in 0..<1.
    public func delay(afterAttempt failedAttempt: Int, retryAfter: Double?, random: Double) -> Double? {
        if let retryAfter, retryAfter > 0 {
            return retryAfter <= maxRetryAfter ? retryAfter : nil
        }
        let exponent = Double(max(0, failedAttempt - 1))
        let base = min(initialDelay * pow(2, exponent), maxDelay)
        return base * (1 - jitter * min(max(random, 0), 1))
    }
}

/// How the retry loop waits and draws jitter; injected so tests neither sleep nor guess.
public struct RetryTiming: Sendable {
    /// The wait of a blocking call (it holds its thread anyway).
    public let sleep: @Sendable (Double) -> Void
    /// The wait of a suspended call: a timer, never a blocked thread.
    public let pause: @Sendable (Double) async -> Void
    public let random: @Sendable () -> Double
    public let now: @Sendable () -> Date

    /// Tests inject `sleep` only (a recorder that returns at once); it serves both kinds of wait.
    public init(sleep: @escaping @Sendable (Double) -> Void, random: @escaping @Sendable () -> Double,
                now: @escaping @Sendable () -> Date) {
        self.init(sleep: sleep, pause: { seconds in sleep(seconds) }, random: random, now: now)
    }

    public init(sleep: @escaping @Sendable (Double) -> Void, pause: @escaping @Sendable (Double) async -> Void,
                random: @escaping @Sendable () -> Double, now: @escaping @Sendable () -> Date) {
        self.sleep = sleep
        self.pause = pause
        self.random = random
        self.now = now
    }

    public static let live = RetryTiming(
        sleep: { seconds in
            guard seconds > 0 else { return }
            Thread.sleep(forTimeInterval: seconds)
        },
        pause: { seconds in
            guard seconds > 0 else { return }
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        },
        random: { Double.random(in: 0..<1) },
        now: { Date() })
}

/// Reads a server's requested wait: `retry-after-ms` (OpenAI, Anthropic), then `retry-after`
/// as seconds or an HTTP date (RFC 9110 §10.2.3).
public enum RetryAfter {
    public static func seconds(from headers: HTTPHeaders, now: Date) -> Double? {
        if let milliseconds = headers["retry-after-ms"].flatMap(Double.init), milliseconds >= 0 {
            return milliseconds / 1000
        }
        guard let value = headers["retry-after"]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
            return nil
        }
        if let seconds = Double(value) { return max(0, seconds) }
        guard let date = httpDate(value) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}

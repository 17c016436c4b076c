import Foundation

/// What a provider's answer said about the rate left for the credential that made it.
public struct RateLimitObservation: Sendable, Equatable {
    /// Requests left in the provider's current window.
    public var remainingRequests: Int?
    /// When the provider's request window resets.
    public var resetAt: Date?
    /// Explicit `retry-after` (or `retry-after-ms`): no request before then.
    public var retryAt: Date?

    public init(remainingRequests: Int? = nil, resetAt: Date? = nil, retryAt: Date? = nil) {
        self.remainingRequests = remainingRequests
        self.resetAt = resetAt
        self.retryAt = retryAt
    }

    public var isEmpty: Bool { remainingRequests == nil && resetAt == nil && retryAt == nil }

    /// What an answer said: its headers, with `retryAfter` as a fallback for errors made without
    /// headers (such as Veo's RESOURCE_EXHAUSTED delay).
    public init(headers: [String: String], retryAfter: Double?, at now: Date) {
        self = RateLimitHeaders.observation(headers, at: now)
        if retryAt == nil, let retryAfter, retryAfter.isFinite {
            retryAt = now.addingTimeInterval(min(max(0, retryAfter), RateLimitHeaders.maximumWait))
        }
    }

    /// Until when the provider will refuse: its explicit retry time, or the window's reset once
    /// nothing remains.
    public var blockedUntil: Date? {
        if let retryAt { return retryAt }
        if remainingRequests == 0 { return resetAt }
        return nil
    }
}

/// Reads the request-rate headers of every provider that sends them. Header names are
/// lowercased (as `GenerationOutput.rateLimits` holds them); values that do not parse, or that
/// are out of any sensible range, are ignored rather than trusted.
///
/// - OpenAI: `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests` (a Go duration: `"6m0s"`, `"12ms"`).
/// - OpenRouter: the same, or `x-ratelimit-remaining` with `x-ratelimit-reset` (Unix time in milliseconds).
/// - Anthropic: `anthropic-ratelimit-requests-remaining`, `anthropic-ratelimit-requests-reset` (RFC 3339).
/// - The IETF draft: `ratelimit-remaining`, `ratelimit-reset` (seconds from now).
/// - Everyone: `retry-after-ms`, then `retry-after` (seconds, or an HTTP date).
public enum RateLimitHeaders {
    /// The longest wait believed from a header: a day. Anything longer is a bug or an attack.
    public static let maximumWait: TimeInterval = 86_400

    public static func observation(_ headers: [String: String], at now: Date) -> RateLimitObservation {
        var result = RateLimitObservation()
        result.remainingRequests = firstInteger(headers, ["x-ratelimit-remaining-requests", "anthropic-ratelimit-requests-remaining",
                                                          "x-ratelimit-remaining", "ratelimit-remaining"])
        if let text = headers["x-ratelimit-reset-requests"], let seconds = goDuration(text) {
            result.resetAt = bounded(now, seconds)
        } else if let text = headers["anthropic-ratelimit-requests-reset"], let date = rfc3339(text) {
            result.resetAt = bounded(now, date.timeIntervalSince(now))
        } else if let text = headers["x-ratelimit-reset"], let milliseconds = Double(text.trimmed(of: .whitespaces)),
                  milliseconds.isFinite {
            // OpenRouter sends Unix milliseconds; a small number is a delta in seconds.
            result.resetAt = milliseconds > 1e11 ? bounded(now, milliseconds / 1000 - now.timeIntervalSince1970) : bounded(now, milliseconds)
        } else if let text = headers["ratelimit-reset"], let seconds = Double(text.trimmed(of: .whitespaces)) {
            result.resetAt = bounded(now, seconds)
        }
        if let text = headers["retry-after-ms"], let milliseconds = Double(text.trimmed(of: .whitespaces)) {
            result.retryAt = bounded(now, milliseconds / 1000)
        } else if let text = headers["retry-after"] {
            result.retryAt = retryAfter(text, at: now)
        }
        return result
    }

    /// `retry-after`: delta seconds or an HTTP date (RFC 9110 §10.2.3).
    public static func retryAfter(_ text: String, at now: Date) -> Date? {
        let trimmed = String(text.trimmed(of: .whitespaces))
        if let seconds = Double(trimmed) { return bounded(now, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return bounded(now, date.timeIntervalSince(now))
    }

    /// A Go `time.Duration` string: `1h2m3.5s`, `6m0s`, `12ms`, `250us`, `0s`.
    public static func goDuration(_ text: String) -> TimeInterval? {
        let units: [(String, Double)] = [("ms", 0.001), ("us", 0.000_001), ("µs", 0.000_001), ("ns", 0.000_000_001),
                                         ("h", 3600), ("m", 60), ("s", 1)]
        var rest = text.trimmed(of: .whitespaces)
        guard !rest.isEmpty, rest.count <= 64 else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        return total.isFinite ? total : nil
    }

    private static func firstInteger(_ headers: [String: String], _ names: [String]) -> Int? {
        for name in names {
            if let text = headers[name], let value = Int(text.trimmed(of: .whitespaces)), value >= 0 { return value }
        }
        return nil
    }

    private static func rfc3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    private static func bounded(_ now: Date, _ seconds: TimeInterval) -> Date? {
        guard seconds.isFinite else { return nil }
        return now.addingTimeInterval(min(max(0, seconds), maximumWait))
    }
}

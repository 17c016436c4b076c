import Foundation

/// What the fake does with a request. Chosen per request (see `BehaviorSelector`); the names
/// are the public vocabulary documented in the README table.
enum BehaviorName: String, Sendable, CaseIterable {
    case success
    case badRequest = "bad_request"
    case unauthorized
    case forbidden
    case notFound = "not_found"
    case rateLimited = "rate_limited"
    case quotaExhausted = "quota_exhausted"
    case serverError = "server_error"
    case unavailable
    /// Anthropic's 529; the others answer their own overload (a 503 or 502).
    case overloaded
    /// The provider's own refusal shape (a 200 with a refusal, a 400/403/422, a failed task).
    case refused
    /// Answers after `value` seconds (default: `--slow-seconds`), to pass a client's timeout.
    case slow
    case truncatedJSON = "truncated_json"
    case invalidJSON = "invalid_json"
    /// Declares the full length, sends half, closes the connection.
    case cutOff = "cut_off"
    /// Async routes: the task fails at the provider (Runway FAILED, Veo operation error, FAL error result).
    case taskFailed = "task_failed"
    /// Runway: the task sits in THROTTLED before it runs; FAL: extra IN_QUEUE polls.
    case throttled
    /// A streamed (SSE) answer sends its events `value` seconds apart (default 0.05).
    case paced
    /// A streamed answer stops after its first content event until `POST /_fake/release`;
    /// `held:SECONDS` sends its events that far apart.
    case held
    /// A chat answer (OpenAI, OpenRouter; not streamed) that leaves out its `usage` object.
    case noUsage = "no_usage"
}

struct Behavior: Sendable, Equatable {
    var name: BehaviorName
    /// `_once`: only the first request with this exact body (per provider and route) misbehaves;
    /// the repeat succeeds, which is how a client's retry is observed.
    var once: Bool = false
    /// `rate_limited:N` sets retry-after to N seconds; `slow:N` the delay.
    var value: Double?

    static let success = Behavior(name: .success)

    /// Upper bound for any number taken from a request (seconds).
    static let maximumValue: Double = 600

    /// `rate_limited`, `rate_limited_once`, `slow:2.5`, `rate_limited_once:3`. Nil for anything else.
    static func parse(_ text: Substring) -> Behavior? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 64 else { return nil }
        let parts = trimmed.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        var name = String(parts.first ?? "").lowercased()
        var once = false
        if name.hasSuffix("_once") {
            once = true
            name.removeLast(5)
        }
        guard let known = BehaviorName(rawValue: name) else { return nil }
        var value: Double?
        if parts.count == 2, let raw = parts.last {
            guard let number = Double(raw), number.isFinite, number >= 0, number <= maximumValue else { return nil }
            value = number
        }
        return Behavior(name: known, once: once, value: value)
    }

    /// The first `[fake:NAME]` marker in `text` that names a behaviour.
    static func marker(in text: String) -> Behavior? {
        var rest = Substring(text)
        while let open = rest.range(of: "[fake:") {
            let after = rest[open.upperBound...]
            guard let close = after.prefix(66).firstIndex(of: "]") else {
                rest = after
                continue
            }
            if let behavior = parse(after[..<close]) { return behavior }
            rest = after[close...]
        }
        return nil
    }

    var header: String {
        var text = name.rawValue + (once ? "_once" : "")
        if let value { text += ":\(value)" }
        return text
    }
}

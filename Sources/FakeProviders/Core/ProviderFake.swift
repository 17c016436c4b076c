import Foundation

/// The error families every provider answers in its own wire shape (providers.md §1.5, §2.4,
/// §3.4, §4.4, §5.6, §6.3, §7.2).
enum FakeError: Sendable {
    case badRequest(String)
    case unauthorized
    case forbidden
    case notFound(String)
    case rateLimited(retryAfter: Double)
    case quotaExhausted
    case serverError
    case unavailable
    case overloaded
    case tooLarge
}

/// One request on its way through a provider fake.
struct FakeCall: Sendable {
    let request: FakeRequest
    /// The path below the provider's prefix (`/chat/completions` under `/openai/v1`).
    let path: String
    let route: String
    let behavior: Behavior
    /// Origin plus the provider's prefix: the base URL the adapter was given.
    let base: String
    let tasks: TaskStore

    var json: RequestJSON? { RequestJSON.parse(request.body) }
}

/// One provider's fake: its routes, its checks on keys and mandatory headers, its error shapes
/// and its successful answers. Transport misbehaviour (slow, truncated, cut off) is applied on
/// top by `FakeRouter`, the same for every provider.
protocol ProviderFake: Sendable {
    /// `openai`, `anthropic`, ... as used in counters and `?provider=`.
    var name: String { get }
    /// Path prefixes this provider answers under; the adapter's base URL is origin + prefix.
    var prefixes: [String] { get }
    /// The route template for counting (`POST /v1/tasks/{id}`), nil for an unknown path.
    func route(method: String, path: String) -> String?
    /// An error answer when the key or a mandatory header is missing; nil to go on. Public
    /// routes (downloads, the OpenRouter model list) answer nil.
    func authenticate(_ request: FakeRequest, route: String) -> FakeResponse?
    /// The raw credential, searched for a `[fake:...]` marker.
    func credential(_ request: FakeRequest) -> String?
    func error(_ error: FakeError) -> FakeResponse
    /// Headers on every answer (`x-ratelimit-*`, request ids).
    func commonHeaders(route: String, status: Int) -> [(String, String)]
    func respond(_ call: FakeCall) -> FakeResponse
}

extension ProviderFake {
    func commonHeaders(route: String, status: Int) -> [(String, String)] { [] }

    /// `Bearer <key>` → `<key>`.
    static func bearer(_ request: FakeRequest, scheme: String = "Bearer") -> String? {
        guard let value = request.header("authorization") else { return nil }
        let prefix = scheme + " "
        guard value.count > prefix.count, value.lowercased().hasPrefix(prefix.lowercased()) else { return nil }
        return String(value.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
    }

    /// The retry-after value as the header writes it: whole seconds, at least one.
    static func retryAfterHeader(_ seconds: Double) -> String {
        String(Int(max(0, seconds).rounded(.up)))
    }

    /// Path segments after `prefix`, or nil when `path` is not under it.
    static func segments(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}

/// RFC 3339 timestamps as the providers print them.
enum FakeClock {
    static func rfc3339(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static var unix: Int { Int(Date().timeIntervalSince1970) }
}

extension Array {
    /// The element at `index`, or nil: path segments come from requests, so no index is trusted.
    subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}

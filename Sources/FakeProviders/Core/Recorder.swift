import Foundation
import Synchronization

/// Request counters by provider and route, the last requests per provider (keys redacted), the
/// fingerprints behind `_once` behaviours, and scripted behaviours. All bounded.
final class Recorder: Sendable {
    static let requestsKeptPerProvider = 50
    static let bodyBytesKept = 16 * 1024
    static let fingerprintsKept = 10_000
    static let scriptsKept = 100

    struct Recorded: Sendable {
        let sequence: Int
        let provider: String
        let receivedAt: Date
        let method: String
        let path: String
        let query: [String: String]
        let route: String
        let headers: [String: String]
        let body: String
        let bodyBytes: Int
        let behavior: String
        var status: Int?
    }

    struct Script: Sendable {
        let provider: String
        let route: String?
        let behavior: Behavior
        var remaining: Int
    }

    private struct State {
        var counters: [String: [String: Int]] = [:]
        var recent: [String: [Recorded]] = [:]
        var sequence = 0
        var fingerprints: Set<Int> = []
        var fingerprintOrder: [Int] = []
        var scripts: [Script] = []
    }

    private let state = Mutex(State())

    /// Counts the request and keeps a redacted copy; returns its sequence number.
    func record(provider: String, route: String, request: FakeRequest, behavior: Behavior) -> Int {
        let kept = Self.redactedHeaders(request.headers)
        var visibleQuery = request.query
        if visibleQuery["key"] != nil { visibleQuery["key"] = "[redacted]" }
        let body = Self.bodyPreview(request.body)
        return state.withLock { state in
            state.sequence += 1
            state.counters[provider, default: [:]][route, default: 0] += 1
            let entry = Recorded(sequence: state.sequence, provider: provider, receivedAt: Date(), method: request.method, path: request.path,
                                 query: visibleQuery, route: route, headers: kept, body: body,
                                 bodyBytes: request.body.count, behavior: behavior.header)
            var list = state.recent[provider, default: []]
            list.append(entry)
            if list.count > Self.requestsKeptPerProvider { list.removeFirst(list.count - Self.requestsKeptPerProvider) }
            state.recent[provider] = list
            return state.sequence
        }
    }

    func finish(provider: String, sequence: Int, status: Int) {
        state.withLock { state in
            guard var list = state.recent[provider], let index = list.lastIndex(where: { $0.sequence == sequence }) else { return }
            list[index].status = status
            state.recent[provider] = list
        }
    }

    /// True the first time this fingerprint is seen (so a `_once` behaviour applies), false after.
    func firstTime(_ fingerprint: Int) -> Bool {
        state.withLock { state in
            guard state.fingerprints.insert(fingerprint).inserted else { return false }
            state.fingerprintOrder.append(fingerprint)
            if state.fingerprintOrder.count > Self.fingerprintsKept {
                let dropped = state.fingerprintOrder.removeFirst()
                state.fingerprints.remove(dropped)
            }
            return true
        }
    }

    func addScript(_ script: Script) -> Bool {
        state.withLock { state in
            guard state.scripts.count < Self.scriptsKept else { return false }
            state.scripts.append(script)
            return true
        }
    }

    /// The first script matching provider and route, used up by one.
    func takeScript(provider: String, route: String) -> Behavior? {
        state.withLock { state in
            guard let index = state.scripts.firstIndex(where: { $0.provider == provider && ($0.route == nil || $0.route == route) })
            else { return nil }
            state.scripts[index].remaining -= 1
            let behavior = state.scripts[index].behavior
            if state.scripts[index].remaining <= 0 { state.scripts.remove(at: index) }
            return behavior
        }
    }

    func reset() {
        state.withLock { $0 = State() }
    }

    func countersJSON() -> JSONValue {
        state.withLock { state in
            let providers = state.counters.keys.sorted().map { provider -> (String, JSONValue) in
                let routes = state.counters[provider] ?? [:]
                let total = routes.values.reduce(0, +)
                let entries = routes.keys.sorted().map { ($0, JSONValue.int(routes[$0] ?? 0)) }
                return (provider, ["total": .int(total), "routes": .object(entries)])
            }
            let total = state.counters.values.flatMap(\.values).reduce(0, +)
            return ["total": .int(total), "providers": .object(providers)]
        }
    }

    func requestsJSON(provider: String?, route: String?, limit: Int) -> JSONValue {
        state.withLock { state in
            let all = provider.map { state.recent[$0] ?? [] } ?? state.recent.values.flatMap { $0 }
            let matching = all.filter { route == nil || $0.route == route }.sorted { $0.sequence < $1.sequence }.suffix(limit)
            let items = matching.map { entry -> JSONValue in
                [
                    "sequence": .int(entry.sequence),
                    "provider": .string(entry.provider),
                    "received_at": .string(ISO8601DateFormatter().string(from: entry.receivedAt)),
                    "method": .string(entry.method),
                    "path": .string(entry.path),
                    "query": .object(entry.query.keys.sorted().map { ($0, .string(entry.query[$0] ?? "")) }),
                    "route": .string(entry.route),
                    "headers": .object(entry.headers.keys.sorted().map { ($0, .string(entry.headers[$0] ?? "")) }),
                    "body": .string(entry.body),
                    "body_bytes": .int(entry.bodyBytes),
                    "behavior": .string(entry.behavior),
                    "status": entry.status.map(JSONValue.int) ?? .null,
                ]
            }
            return ["requests": .array(Array(items))]
        }
    }

    /// Headers that carry a credential keep their scheme word and lose the secret, so tests can
    /// see that `Bearer`, `Key` or `x-api-key` was sent without the key ever being stored.
    static let credentialHeaders: Set<String> = ["authorization", "x-api-key", "xi-api-key", "x-goog-api-key",
                                                 "proxy-authorization", "cookie"]

    static func redactedHeaders(_ headers: [String: String]) -> [String: String] {
        var kept: [String: String] = [:]
        for (name, value) in headers {
            guard credentialHeaders.contains(name) else {
                kept[name] = String(value.prefix(512))
                continue
            }
            let words = value.split(separator: " ", maxSplits: 1)
            kept[name] = words.count == 2 ? "\(words.first ?? "") [redacted]" : "[redacted]"
        }
        return kept
    }

    static func bodyPreview(_ body: Data) -> String {
        let head = body.prefix(bodyBytesKept)
        if let text = String(data: head, encoding: .utf8) { return text }
        // Cut inside a multi-byte character, or binary: keep what decodes.
        return String(decoding: head, as: UTF8.self)
    }
}

import Domain
import Foundation
import Providers
import Synchronization

/// How `POST /v1/api-keys/{id}/test` reaches providers: never on an HTTP thread (the provider
/// work queue runs it), through adapters with a short time limit and no retries (a retry would
/// sit out the provider's `retry-after`), and at most `perUser` checks at once for one user.
struct KeyChecks: Sendable {
    let queue: WorkQueue
    let providers: ProviderRegistry
    let perUser: ConcurrencyLimit
    /// What a client over the per-user limit is told to wait: about one check's length.
    let retryAfterSeconds: Int

    /// The most provider calls one check makes (ElevenLabs falls back to `GET /v1/voices` when a
    /// restricted key may not read its subscription); each call gets its share of the limit.
    static let maximumCallsPerCheck = 2

    init(queue: WorkQueue, endpoints: ProviderEndpoints, timeoutMilliseconds: Int, perUser: Int, logger: ProviderLogger) {
        let perCall = Double(timeoutMilliseconds) / 1000 / Double(Self.maximumCallsPerCheck)
        let client = CurlClient(configuration: HTTPClientConfiguration(
            connectTimeout: perCall, requestTimeout: perCall, downloadTimeout: perCall, stallTimeout: perCall))
        self.queue = queue
        self.providers = ProviderRegistry.standard(endpoints: endpoints,
                                                   context: AdapterContext(client: client, retryPolicy: .none, logger: logger))
        self.perUser = ConcurrencyLimit(perKey: perUser)
        self.retryAfterSeconds = max(1, (timeoutMilliseconds + 999) / 1000)
    }
}

/// At most `limit` holders per key at once. Only keys with a holder have an entry, so the table
/// is bounded by the requests in progress.
final class ConcurrencyLimit: Sendable {
    let limit: Int
    private let holders = Mutex<[UUID: Int]>([:])

    init(perKey limit: Int) {
        self.limit = limit
    }

    /// Takes a place for `key`; false when `limit` are taken. Each true needs one `release`.
    func acquire(_ key: UUID) -> Bool {
        holders.withLock { holders in
            let current = holders[key, default: 0]
            guard current < limit else { return false }
            holders[key] = current + 1
            return true
        }
    }

    func release(_ key: UUID) {
        holders.withLock { holders in
            let remaining = holders[key, default: 1] - 1
            holders[key] = remaining > 0 ? remaining : nil
        }
    }
}

extension Problem {
    static func tooManyKeyChecks(limit: Int, retryAfterSeconds: Int) -> Problem {
        Problem(status: 429, code: "too_many_key_checks", title: "Too Many Requests",
                detail: "At most \(limit) key checks may run at once for one user; wait for one to finish.",
                headers: [("Retry-After", String(retryAfterSeconds))])
    }
}

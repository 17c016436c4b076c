import Crypto
import Domain
import Foundation
import Providers
import Synchronization

/// Claude's input-token counts from Anthropic's free `POST /v1/messages/count_tokens`, for a
/// caller who holds a usable Anthropic key. Called only from the provider work queue (the
/// count route is deferred), through the key-check adapters (short time limit, no retries);
/// any failure answers nil and the caller keeps its upper bound, so nothing is reported.
///
/// Counts are cached by the SHA-256 of user, model and text: a count depends only on model and
/// text, but a count cached for one user must never answer another, whose hit (an Anthropic count
/// without a key of their own, or an answer that comes back at once) would tell them that someone
/// counted that exact text. At most `perUser` calls run at once for one user; past that the bound
/// is used instead of queueing more calls against their key's rate limit.
final class AnthropicTokenCounts: Sendable {
    static let countedWith = "anthropic_count_tokens"
    static let cacheLimit = 10_000

    private let vault: KeyVault
    private let providers: ProviderRegistry
    private let perUser: ConcurrencyLimit
    private let cache = Mutex(BoundedCounts(limit: AnthropicTokenCounts.cacheLimit))

    init(vault: KeyVault, providers: ProviderRegistry, perUser: Int) {
        self.vault = vault
        self.providers = providers
        self.perUser = ConcurrencyLimit(perKey: perUser)
    }

    func count(_ text: String, model: String, for identity: AuthenticatedIdentity) -> Int? {
        guard let key = Self.cacheKey(user: identity.userID, model: model, text: text) else { return nil }
        if let cached = cache.withLock({ $0.value(for: key) }) { return cached }
        guard let anthropic = providers.provider(.anthropic) as? AnthropicProvider,
              perUser.acquire(identity.userID) else { return nil }
        defer { perUser.release(identity.userID) }
        do {
            let apiKey = try vault.decryptedKey(userID: identity.userID, claimsJSON: identity.claimsJSON, provider: .anthropic)
            let request = GenerationRequest(kind: .text, model: model, prompt: text, outputDirectory: NSTemporaryDirectory())
            guard let count = try anthropic.countInputTokens(request, key: apiKey), count >= 0 else { return nil }
            cache.withLock { $0.insert(count, for: key) }
            return count
        } catch {
            return nil
        }
    }

    static func cacheKey(user: UUID, model: String, text: String) -> Data? {
        var message = Data(user.lowercasedString.utf8)
        message.append(0)
        message.append(contentsOf: model.utf8)
        message.append(0)
        message.append(contentsOf: text.utf8)
        return (try? SHA256.hash(message)).map { Data($0) }
    }
}

/// A count per key, the oldest dropped first once `limit` are held.
struct BoundedCounts: Sendable {
    let limit: Int
    private var counts: [Data: Int] = [:]
    private var order: [Data] = []
    private var oldest = 0

    init(limit: Int) {
        self.limit = limit
    }

    func value(for key: Data) -> Int? { counts[key] }

    mutating func insert(_ count: Int, for key: Data) {
        guard counts.updateValue(count, forKey: key) == nil else { return }
        order.append(key)
        while counts.count > limit, oldest < order.count {
            counts[order[oldest]] = nil
            oldest += 1
        }
        // Compact the queue of keys once half of it is spent.
        if oldest > limit {
            order.removeFirst(oldest)
            oldest = 0
        }
    }
}

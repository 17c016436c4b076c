import Foundation

/// A bounded memo of values by key, kept in shards chosen by the calling thread, for work that a
/// thread repeats on the same inputs (a dashboard listing the same rows again and again). The
/// caller stores each value with whatever it was computed from and checks that on every lookup, so
/// a stale or foreign entry is never used: the memo only saves the computation.
///
/// Shards by thread because HTTP threads outnumber the cores: one shared lock, even a short one,
/// is where they would meet (see `Metrics`). Each shard's lock is a pthread mutex, which sleeps at
/// once instead of spinning. A shard that would pass `capacityPerShard` entries, or `weightPerShard`
/// in the weights its entries were given (their bytes, roughly), drops them all and starts again, so
/// memory stays bounded whatever the inputs; a single entry heavier than that is not kept.
///
/// Inlinable so that each use is specialized for its key and value: unspecialized, a lookup built
/// the generic metadata of its entry at run time, which cost as much as what it saved.
public final class ThreadShardedMemo<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    @usableFromInline
    struct Stored {
        @usableFromInline let value: Value
        @usableFromInline let weight: Int

        @inlinable
        init(value: Value, weight: Int) {
            self.value = value
            self.weight = weight
        }
    }

    @usableFromInline
    final class Shard: @unchecked Sendable {
        @usableFromInline let lock = NSLock()
        @usableFromInline var entries: [Key: Stored] = [:]
        @usableFromInline var weight = 0

        @usableFromInline
        init() {}
    }

    @usableFromInline let shards: [Shard]
    public let capacityPerShard: Int
    public let weightPerShard: Int

    public init(shards: Int = 16, capacityPerShard: Int, weightPerShard: Int = .max) {
        self.shards = (0..<max(1, shards)).map { _ in Shard() }
        self.capacityPerShard = max(1, capacityPerShard)
        self.weightPerShard = max(1, weightPerShard)
    }

    @inlinable
    var current: Shard { shards[ThreadShard.index(among: shards.count)] }

    /// The value this thread's shard holds for `key`, if any.
    @inlinable
    public func value(for key: Key) -> Value? {
        let shard = current
        shard.lock.lock()
        defer { shard.lock.unlock() }
        return shard.entries[key]?.value
    }

    @inlinable
    public func remember(_ value: Value, for key: Key, weight: Int = 1) {
        let weight = max(0, weight)
        let shard = current
        shard.lock.lock()
        defer { shard.lock.unlock() }
        if let replaced = shard.entries.removeValue(forKey: key) { shard.weight -= replaced.weight }
        guard weight <= weightPerShard else { return }
        if shard.entries.count >= capacityPerShard || shard.weight > weightPerShard - weight {
            shard.entries.removeAll(keepingCapacity: true)
            shard.weight = 0
        }
        shard.entries[key] = Stored(value: value, weight: weight)
        shard.weight += weight
    }

    /// Entries over all shards.
    public var count: Int { total { $0.entries.count } }

    /// The weights of the entries over all shards.
    public var weight: Int { total(\.weight) }

    private func total(_ measure: (Shard) -> Int) -> Int {
        shards.reduce(0) { total, shard in
            shard.lock.lock()
            defer { shard.lock.unlock() }
            return total + measure(shard)
        }
    }
}

/// Which of `count` shards the calling thread uses, always the same one for a thread: state that
/// many threads update (metrics, memos) is split so that they rarely meet on one lock.
public enum ThreadShard {
    @inlinable
    public static func index(among count: Int) -> Int {
        // pthread_t is the thread's descriptor address: a multiplicative hash spreads its high bits.
        let hash = UInt64(UInt(pthread_self())) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: hash >> 32) % max(1, count)
    }
}

/// A memo key of a user and what they asked: each user's listings (a page, the next page) are
/// remembered apart.
public struct UserQueryKey<Query: Hashable & Sendable>: Hashable, Sendable {
    public let user: UUID
    public let query: Query

    public init(user: UUID, query: Query) {
        self.user = user
        self.query = query
    }
}

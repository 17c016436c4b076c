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
public final class ThreadShardedMemo<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private final class Shard: @unchecked Sendable {
        let lock = NSLock()
        var entries: [Key: (value: Value, weight: Int)] = [:]
        var weight = 0
    }

    private let shards: [Shard]
    public let capacityPerShard: Int
    public let weightPerShard: Int

    public init(shards: Int = 16, capacityPerShard: Int, weightPerShard: Int = .max) {
        self.shards = (0..<max(1, shards)).map { _ in Shard() }
        self.capacityPerShard = max(1, capacityPerShard)
        self.weightPerShard = max(1, weightPerShard)
    }

    private var current: Shard {
        // pthread_t is the thread's descriptor address: a multiplicative hash spreads its high bits.
        let hash = UInt64(UInt(bitPattern: Int(bitPattern: UInt(pthread_self())))) &* 0x9E37_79B9_7F4A_7C15
        return shards[Int(truncatingIfNeeded: hash >> 32) % shards.count]
    }

    /// The value this thread's shard holds for `key`, if any.
    public func value(for key: Key) -> Value? {
        let shard = current
        shard.lock.lock()
        defer { shard.lock.unlock() }
        return shard.entries[key]?.value
    }

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
        shard.entries[key] = (value, weight)
        shard.weight += weight
    }

    /// The weights of the entries over all shards.
    public var weight: Int {
        shards.reduce(0) { total, shard in
            shard.lock.lock()
            defer { shard.lock.unlock() }
            return total + shard.weight
        }
    }

    /// Entries over all shards.
    public var count: Int {
        shards.reduce(0) { total, shard in
            shard.lock.lock()
            defer { shard.lock.unlock() }
            return total + shard.entries.count
        }
    }
}

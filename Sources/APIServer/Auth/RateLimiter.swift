import Foundation
import Synchronization

/// Per-key token buckets (GoTrue's limiter: a burst, refilled at a steady rate). Keys are client
/// addresses, which an attacker chooses, so the table holds at most `capacity` of them and drops
/// the least recently used: a full bucket is the same as no bucket, so an evicted key only ever
/// gets back what a long pause would have given it. Each request costs O(1) under the lock.
final class RateLimiter: Sendable {
    struct Rule: Sendable {
        let burst: Double
        /// Tokens added per second.
        let refillPerSecond: Double

        static func perWindow(_ count: Double, seconds: Double, burst: Double) -> Rule {
            Rule(burst: burst, refillPerSecond: count / seconds)
        }

        /// `count` per 5 minutes with GoTrue's burst of 30, or a fifth of the window when that is more.
        static func perFiveMinutes(_ count: Int) -> Rule {
            let requests = Double(max(1, count))
            return perWindow(requests, seconds: 300, burst: min(requests, max(30, requests / 5)))
        }
    }

    let rule: Rule
    let capacity: Int
    private let table: Mutex<BucketTable>

    init(_ rule: Rule, capacity: Int = 100_000) {
        self.rule = rule
        self.capacity = max(1, capacity)
        self.table = Mutex(BucketTable(capacity: max(1, capacity)))
    }

    /// Takes one token for `key`; when none is left, returns the seconds until one will be.
    func take(_ key: String, now: Double = Date().timeIntervalSince1970) -> Int? {
        table.withLock { table in
            let slot = table.slot(for: key, fullTokens: rule.burst, now: now)
            var tokens = min(rule.burst, table.tokens[slot] + (now - table.updated[slot]) * rule.refillPerSecond)
            table.updated[slot] = now
            defer { table.tokens[slot] = tokens }
            if tokens >= 1 {
                tokens -= 1
                return nil
            }
            return max(1, Int(((1 - tokens) / rule.refillPerSecond).rounded(.up)))
        }
    }

    /// Keys held now (at most `capacity`).
    var count: Int { table.withLock { $0.index.count } }
}

/// Buckets in parallel arrays with an intrusive doubly linked list through them, most recently
/// used first: finding, touching, inserting and evicting are each O(1), with no scan.
private struct BucketTable {
    var index: [String: Int] = [:]
    var keys: [String] = []
    var tokens: [Double] = []
    var updated: [Double] = []
    var previous: [Int] = []
    var next: [Int] = []
    var head = -1
    var tail = -1
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The slot for `key`, now the most recently used; a new key takes a fresh full bucket, in a
    /// new slot or in the least recently used one's.
    mutating func slot(for key: String, fullTokens: Double, now: Double) -> Int {
        if let slot = index[key] {
            moveToFront(slot)
            return slot
        }
        let slot: Int
        if keys.count < capacity {
            slot = keys.count
            keys.append(key)
            tokens.append(fullTokens)
            updated.append(now)
            previous.append(-1)
            next.append(-1)
        } else {
            slot = tail
            unlink(slot)
            index[keys[slot]] = nil
            keys[slot] = key
            tokens[slot] = fullTokens
            updated[slot] = now
        }
        index[key] = slot
        pushFront(slot)
        return slot
    }

    private mutating func moveToFront(_ slot: Int) {
        guard slot != head else { return }
        unlink(slot)
        pushFront(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let before = previous[slot], after = next[slot]
        if before >= 0 { next[before] = after } else { head = after }
        if after >= 0 { previous[after] = before } else { tail = before }
        previous[slot] = -1
        next[slot] = -1
    }

    private mutating func pushFront(_ slot: Int) {
        previous[slot] = -1
        next[slot] = head
        if head >= 0 { previous[head] = slot }
        head = slot
        if tail < 0 { tail = slot }
    }
}

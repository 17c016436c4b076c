/// Byte-level BPE on one piece: start from single bytes and repeatedly merge the adjacent pair
/// whose concatenation has the lowest rank (leftmost on ties) until no pair is a token.
///
/// Two implementations with the same result: a quadratic one over small arrays, fastest for
/// the short pieces that make up nearly all text, and a heap over a linked list for long
/// pieces (a CJK sentence with no spaces is one piece) so they stay O(n log n).
struct BytePairMerger {
    let ranks: TokenRanks
    /// Pieces at least this long take the heap path (tests set it to force either path).
    var heapThreshold = 96
    /// Scratch space reused across pieces of one call.
    private var boundaries: [Int32] = []
    private var pairRanks: [Int32] = []
    private var next: [Int32] = []
    private var previous: [Int32] = []
    private var heap = MinHeap<UInt64>()

    init(ranks: TokenRanks) {
        self.ranks = ranks
    }

    /// Calls `emit` with each token's rank, in order.
    @inline(__always)
    mutating func merge(_ piece: UnsafePointer<UInt8>, _ length: Int, _ emit: (Int32) -> Void) {
        if length == 1 {
            emit(ranks.byteRank(piece[0]))
            return
        }
        let whole = ranks.rank(piece, length)
        if whole >= 0 {
            emit(whole)
            return
        }
        if length < heapThreshold {
            mergeSmall(piece, length, emit)
        } else {
            mergeLarge(piece, length, emit)
        }
    }

    private mutating func mergeSmall(_ piece: UnsafePointer<UInt8>, _ length: Int, _ emit: (Int32) -> Void) {
        let ranks = self.ranks
        boundaries.removeAll(keepingCapacity: true)
        pairRanks.removeAll(keepingCapacity: true)
        for index in 0...length { boundaries.append(Int32(index)) }
        // pairRanks[i]: rank of parts i and i+1 joined, i.e. bytes boundaries[i] ..< boundaries[i + 2].
        for index in 0..<(length - 1) { pairRanks.append(ranks.rank(piece + index, 2)) }
        boundaries.withUnsafeMutableBufferPointer { bounds in
            pairRanks.withUnsafeMutableBufferPointer { pairs in
                var parts = length
                func pairRank(_ i: Int) -> Int32 {
                    guard i + 2 <= parts else { return TokenRanks.absent }
                    let start = Int(bounds[i])
                    return ranks.rank(piece + start, Int(bounds[i + 2]) - start)
                }
                while parts > 1 {
                    var best = -1
                    var bestRank = Int32.max
                    for i in 0..<(parts - 1) where pairs[i] >= 0 && pairs[i] < bestRank {
                        bestRank = pairs[i]
                        best = i
                    }
                    if best < 0 { break }
                    // Remove boundary best+1: parts best and best+1 become one, and the pair
                    // that started at best+1 now starts at best (recomputed below).
                    var k = best + 1
                    while k < parts {
                        bounds[k] = bounds[k + 1]
                        k += 1
                    }
                    k = best + 1
                    while k < parts - 2 {
                        pairs[k] = pairs[k + 1]
                        k += 1
                    }
                    parts -= 1
                    if best < parts - 1 { pairs[best] = pairRank(best) }
                    if best > 0 { pairs[best - 1] = pairRank(best - 1) }
                }
                for i in 0..<parts {
                    let start = Int(bounds[i])
                    emit(ranks.rank(piece + start, Int(bounds[i + 1]) - start))
                }
            }
        }
    }

    /// Nodes are identified by their first byte's offset, which never changes when a node
    /// absorbs its right neighbour; heap entries are `rank << 32 | offset`, so the minimum is
    /// the lowest rank and, among equals, the leftmost pair, as in the small version. An
    /// entry is current exactly when its rank is still its node's pair rank: a rank names one
    /// byte string, so the same rank at the same offset is the same pair.
    private mutating func mergeLarge(_ piece: UnsafePointer<UInt8>, _ length: Int, _ emit: (Int32) -> Void) {
        let ranks = self.ranks
        next = Array(1...Int32(length))
        previous = Array(-1..<Int32(length - 1))
        pairRanks = [Int32](repeating: TokenRanks.absent, count: length)
        heap.rebuild { entries in
            for index in 0..<(length - 1) {
                let rank = ranks.rank(piece + index, 2)
                pairRanks[index] = rank
                if rank >= 0 { entries.append(UInt64(UInt32(rank)) << 32 | UInt64(index)) }
            }
        }
        var alive = [Bool](repeating: true, count: length)
        while let entry = heap.popMin() {
            let node = Int(entry & 0xFFFF_FFFF)
            let rank = Int32(entry >> 32)
            guard alive[node], pairRanks[node] == rank else { continue }
            let absorbed = Int(next[node])
            let after = Int(next[absorbed])
            alive[absorbed] = false
            next[node] = Int32(after)
            if after < length { previous[after] = Int32(node) }
            // New pair ranks for this node and its left neighbour.
            if after < length {
                let end = Int(next[after])
                let newRank = ranks.rank(piece + node, end - node)
                pairRanks[node] = newRank
                if newRank >= 0 { heap.push(UInt64(UInt32(newRank)) << 32 | UInt64(node)) }
            } else {
                pairRanks[node] = TokenRanks.absent
            }
            let left = Int(previous[node])
            if left >= 0 {
                let newRank = ranks.rank(piece + left, after - left)
                pairRanks[left] = newRank
                if newRank >= 0 { heap.push(UInt64(UInt32(newRank)) << 32 | UInt64(left)) }
            }
        }
        var node = 0
        while node < length {
            let end = Int(next[node])
            emit(ranks.rank(piece + node, end - node))
            node = end
        }
    }
}

import Foundation

/// The byte sequences of a BPE vocabulary and their ranks, in the tiktoken file format: one
/// `base64(token bytes) rank` per line. Lookups take a pointer and a length, so the encoder
/// never allocates a key.
///
/// Storage is raw memory written once in `init` and only read afterwards, which is why the
/// type may be `@unchecked Sendable`: there is no mutation to race with.
final class TokenRanks: @unchecked Sendable {
    static let absent: Int32 = -1

    let count: Int
    let maxRank: Int32
    /// Concatenated token bytes; token `i` is `bytes[offsets[i] ..< offsets[i + 1]]`.
    private let bytes: UnsafeMutablePointer<UInt8>
    private let offsets: UnsafeMutablePointer<Int32>
    /// The first eight bytes of each token, little-endian, zero-padded: most comparisons end here.
    private let prefixes: UnsafeMutablePointer<UInt64>
    private let ranks: UnsafeMutablePointer<Int32>
    /// Open addressing, linear probing; token index or -1.
    private let slots: UnsafeMutablePointer<Int32>
    private let slotMask: Int
    /// Token index for each rank (-1 where a rank is unused).
    private let indexByRank: UnsafeMutablePointer<Int32>
    private let byteRanks: UnsafeMutablePointer<Int32>
    /// Ranks of two-byte tokens by `first << 8 | second`: every BPE run starts by looking up
    /// all adjacent byte pairs, so these skip the hash table.
    private let pairRanks: UnsafeMutablePointer<Int32>

    init(tiktokenFile data: Data) throws(TokenizerError) {
        var tokenBytes: [UInt8] = []
        tokenBytes.reserveCapacity(data.count)
        var tokenOffsets: [Int32] = [0]
        var tokenRanks: [Int32] = []
        var lineNumber = 0
        let failure: TokenizerError? = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> TokenizerError? in
            let input = raw.bindMemory(to: UInt8.self)
            var position = 0
            while position < input.count {
                var end = position
                while end < input.count && input[end] != UInt8(ascii: "\n") { end += 1 }
                lineNumber += 1
                var lineEnd = end
                if lineEnd > position && input[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                if lineEnd > position {
                    guard let space = (position..<lineEnd).first(where: { input[$0] == UInt8(ascii: " ") }),
                          Base64.decode(input, position..<space, into: &tokenBytes),
                          let rank = Self.parseRank(input, space + 1..<lineEnd) else {
                        return .malformedRanks(line: lineNumber)
                    }
                    tokenOffsets.append(Int32(tokenBytes.count))
                    tokenRanks.append(rank)
                }
                position = end + 1
            }
            return nil
        }
        if let failure { throw failure }
        guard !tokenRanks.isEmpty else { throw .malformedRanks(line: 0) }
        let highest = tokenRanks.max() ?? 0
        // Ranks index a table; a vocabulary far larger than any real one is a corrupt file.
        guard highest < 1 << 24 else { throw .malformedRanks(line: (tokenRanks.firstIndex(of: highest) ?? 0) + 1) }
        count = tokenRanks.count
        maxRank = highest

        bytes = .allocate(capacity: max(1, tokenBytes.count))
        bytes.initialize(from: tokenBytes, count: tokenBytes.count)
        offsets = .allocate(capacity: tokenOffsets.count)
        offsets.initialize(from: tokenOffsets, count: tokenOffsets.count)
        ranks = .allocate(capacity: count)
        ranks.initialize(from: tokenRanks, count: count)
        prefixes = .allocate(capacity: count)
        var slotCount = 1
        while slotCount < count * 2 { slotCount <<= 1 }
        slotMask = slotCount - 1
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: -1, count: slotCount)
        indexByRank = .allocate(capacity: Int(maxRank) + 1)
        indexByRank.initialize(repeating: -1, count: Int(maxRank) + 1)
        byteRanks = .allocate(capacity: 256)
        byteRanks.initialize(repeating: Self.absent, count: 256)
        pairRanks = .allocate(capacity: 65_536)
        pairRanks.initialize(repeating: Self.absent, count: 65_536)

        for index in 0..<count {
            let start = Int(offsets[index])
            let length = Int(offsets[index + 1]) - start
            prefixes[index] = Self.prefix(bytes + start, length)
            let rank = ranks[index]
            guard indexByRank[Int(rank)] == -1, lookup(bytes + start, length) == -1 else {
                throw .duplicateToken(rank: Int(rank))
            }
            indexByRank[Int(rank)] = Int32(index)
            var slot = Self.hash(prefixes[index], length) & slotMask
            while slots[slot] != -1 { slot = (slot + 1) & slotMask }
            slots[slot] = Int32(index)
            if length == 1 { byteRanks[Int(bytes[start])] = rank }
            if length == 2 { pairRanks[Int(bytes[start]) << 8 | Int(bytes[start + 1])] = rank }
        }
        // Byte-level BPE must be able to fall back to single bytes for any input.
        for byte in 0..<256 where byteRanks[byte] == Self.absent { throw .missingByte(UInt8(byte)) }
    }

    deinit {
        bytes.deallocate()
        offsets.deallocate()
        prefixes.deallocate()
        ranks.deallocate()
        slots.deallocate()
        indexByRank.deallocate()
        byteRanks.deallocate()
        pairRanks.deallocate()
    }

    @inline(__always)
    func byteRank(_ byte: UInt8) -> Int32 { byteRanks[Int(byte)] }

    /// The rank of the byte sequence, or -1.
    @inline(__always)
    func rank(_ start: UnsafePointer<UInt8>, _ length: Int) -> Int32 {
        if length == 1 { return byteRanks[Int(start[0])] }
        if length == 2 { return pairRanks[Int(start[0]) << 8 | Int(start[1])] }
        let index = lookup(start, length)
        return index < 0 ? Self.absent : ranks[Int(index)]
    }

    @inline(__always)
    private func lookup(_ start: UnsafePointer<UInt8>, _ length: Int) -> Int32 {
        let prefix = Self.prefix(start, length)
        var slot = Self.hash(prefix, length) & slotMask
        while true {
            let index = slots[slot]
            if index < 0 { return -1 }
            let tokenStart = Int(offsets[Int(index)])
            if prefixes[Int(index)] == prefix && Int(offsets[Int(index) + 1]) - tokenStart == length
                && (length <= 8 || memcmp(bytes + tokenStart + 8, start + 8, length - 8) == 0) {
                return index
            }
            slot = (slot + 1) & slotMask
        }
    }

    /// The bytes of the token with this rank, or nil for an unknown rank.
    func bytes(ofRank rank: Int) -> UnsafeBufferPointer<UInt8>? {
        guard rank >= 0, rank <= Int(maxRank) else { return nil }
        let index = Int(indexByRank[rank])
        guard index >= 0 else { return nil }
        let start = Int(offsets[index])
        return UnsafeBufferPointer(start: bytes + start, count: Int(offsets[index + 1]) - start)
    }

    @inline(__always)
    private static func prefix(_ start: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        var value: UInt64 = 0
        if length >= 8 {
            memcpy(&value, start, 8)
        } else {
            memcpy(&value, start, length)
        }
        return UInt64(littleEndian: value)
    }

    @inline(__always)
    private static func hash(_ prefix: UInt64, _ length: Int) -> Int {
        // Multiplicative mixing of the prefix and length; longer tokens share prefixes rarely
        // enough (measured: probes stay short) that the tail need not be hashed.
        var x = prefix ^ (UInt64(truncatingIfNeeded: length) &* 0x9E37_79B9_7F4A_7C15)
        x = (x ^ (x >> 31)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 29)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: x ^ (x >> 32))
    }

    private static func parseRank(_ input: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int32? {
        guard !range.isEmpty, range.count <= 9 else { return nil }
        var value: Int32 = 0
        for index in range {
            let digit = input[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int32(digit)
        }
        return value
    }
}

/// Standard base64 (RFC 4648 §4) decoding straight into a byte array.
enum Base64 {
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        return table
    }()

    static func decode(_ input: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into output: inout [UInt8]) -> Bool {
        guard range.count % 4 == 0, !range.isEmpty else { return false }
        var index = range.lowerBound
        while index < range.upperBound {
            var quantum: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let character = input[index + offset]
                if character == UInt8(ascii: "=") && index + 4 == range.upperBound && offset >= 2 {
                    padding += 1
                    quantum <<= 6
                    continue
                }
                let value = table[Int(character)]
                guard value != 0xFF, padding == 0 else { return false }
                quantum = quantum << 6 | UInt32(value)
            }
            output.append(UInt8(truncatingIfNeeded: quantum >> 16))
            if padding < 2 { output.append(UInt8(truncatingIfNeeded: quantum >> 8)) }
            if padding < 1 { output.append(UInt8(truncatingIfNeeded: quantum)) }
            index += 4
        }
        return true
    }
}

public enum TokenizerError: Error, Equatable, Sendable {
    case ranksFileUnreadable(path: String)
    case malformedRanks(line: Int)
    case duplicateToken(rank: Int)
    case missingByte(UInt8)
    /// The file parsed but is not the vocabulary asked for (wrong size).
    case unexpectedVocabulary(expectedCount: Int, actualCount: Int)
}

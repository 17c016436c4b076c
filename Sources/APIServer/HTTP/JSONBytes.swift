import Foundation

/// The response writer's output: a growable byte buffer whose append is a capacity check and a
/// copy. `[UInt8]`'s append also checks that the storage is unique and goes through generic
/// code, per call; a listed page makes about a thousand of them.
///
/// A class, so that every holder shares the one buffer and it is freed once. One thread uses it
/// (its `JSONStreamWriter`'s).
final class JSONBytes {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = Swift.max(capacity, 64)
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
    }

    func append(_ byte: UInt8) {
        reserve(1)
        (base + count).initialize(to: byte)
        count += 1
    }

    func append(contentsOf bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).initialize(from: source, count: bytes.count)
        count += bytes.count
    }

    /// Any other sequence of bytes (a `String`'s UTF-8), contiguous or not.
    func append(contentsOf bytes: some Sequence<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ append(contentsOf: $0) }) == nil {
            for byte in bytes { append(byte) }
        }
    }

    /// Drops the bytes from `start` on (an object being reordered is written again).
    func removeLast(from start: Int) {
        count = Swift.min(count, Swift.max(0, start))
    }

    /// The bytes from `start` on (a start outside the buffer gives none).
    func withBytes<R>(from start: Int = 0, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let start = Swift.min(count, Swift.max(0, start))
        return try body(UnsafeBufferPointer(start: base + start, count: count - start))
    }

    /// A copy of the bytes written.
    var array: [UInt8] {
        withBytes { Array($0) }
    }

    var data: Data {
        Data(bytes: base, count: count)
    }

    @inline(__always)
    private func reserve(_ more: Int) {
        if count + more > capacity { grow(toFit: more) }
    }

    @inline(never)
    private func grow(toFit more: Int) {
        let grown = Swift.max(capacity * 2, count + more)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        moved.initialize(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = grown
    }
}

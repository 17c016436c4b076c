import Synchronization

/// Request ids: a client's `X-Request-Id` is kept when it is short and plain, so ids can be
/// followed across services; anything else is replaced, because it lands in every log line.
enum RequestID {
    static let maximumLength = 128

    static func accept(_ supplied: String?) -> String {
        if let supplied, !supplied.isEmpty, supplied.utf8.count <= maximumLength,
           supplied.utf8.allSatisfy(isAllowed) {
            return supplied
        }
        return generator.next()
    }

    private static let generator = RequestIDGenerator()

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
             UInt8(ascii: "."), UInt8(ascii: ":"):
            return true
        default:
            return false
        }
    }
}

/// New ids in UUID version 4 form without a system call per request: Foundation's `UUID()` opens
/// and reads `/dev/urandom` each time, which cost about a tenth of a small request. Each id is a
/// per-process counter passed through two keyed bijections (SplitMix64's finaliser), so ids never
/// repeat within a process and look random across processes. They identify; they are not secrets.
final class RequestIDGenerator: Sendable {
    private let counter = Atomic<UInt64>(0)
    private let highKey: UInt64
    private let lowKey: UInt64

    init() {
        var random = SystemRandomNumberGenerator()
        highKey = random.next()
        lowKey = random.next()
    }

    func next() -> String {
        let sequence = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        // Version 4 in the high half's 13th nibble, the RFC 9562 variant (10xx) in the low half.
        let high = (Self.mix(sequence ^ highKey) & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let low = (Self.mix(sequence &+ lowKey) & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return Self.format(high, low)
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, lowercase.
    static func format(_ high: UInt64, _ low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            let digits: StaticString = "0123456789abcdef"
            var index = 0
            func put(_ value: UInt64, nibbles: Int) {
                for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                    buffer[index] = digits.utf8Start[Int((value >> UInt64(shift)) & 0xF)]
                    index += 1
                }
            }
            func dash() {
                buffer[index] = UInt8(ascii: "-")
                index += 1
            }
            put(high >> 32, nibbles: 8); dash()
            put(high >> 16, nibbles: 4); dash()
            put(high, nibbles: 4); dash()
            put(low >> 48, nibbles: 4); dash()
            put(low, nibbles: 12)
            return index
        }
    }
}

import Foundation

/// RFC 3339 UTC timestamps with milliseconds, formatted into a fixed byte buffer without ICU or
/// locale machinery, because every log line and many responses carry one.
enum Timestamp {
    static func rfc3339(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // "YYYY-MM-DDTHH:MM:SS.mmmZ", written straight into the string's own storage.
        return String(unsafeUninitializedCapacity: 24) { bytes in
            func put(_ value: Int, at end: Int, width: Int) {
                var remaining = value
                for index in stride(from: end, to: end - width, by: -1) {
                    bytes[index] = UInt8(48 + remaining % 10)
                    remaining /= 10
                }
            }
            func mark(_ character: Unicode.Scalar, at index: Int) {
                bytes[index] = UInt8(ascii: character)
            }
            put(Int(parts.tm_year) + 1900, at: 3, width: 4)
            mark("-", at: 4)
            put(Int(parts.tm_mon) + 1, at: 6, width: 2)
            mark("-", at: 7)
            put(Int(parts.tm_mday), at: 9, width: 2)
            mark("T", at: 10)
            put(Int(parts.tm_hour), at: 12, width: 2)
            mark(":", at: 13)
            put(Int(parts.tm_min), at: 15, width: 2)
            mark(":", at: 16)
            put(Int(parts.tm_sec), at: 18, width: 2)
            mark(".", at: 19)
            put(Int(milliseconds % 1000), at: 22, width: 3)
            mark("Z", at: 23)
            return 24
        }
    }
}

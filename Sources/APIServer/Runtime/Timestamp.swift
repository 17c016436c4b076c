import Foundation

/// RFC 3339 UTC timestamps with milliseconds, formatted without ICU or locale machinery,
/// because log lines and responses need them on every request.
enum Timestamp {
    static func rfc3339(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = ""
        text.reserveCapacity(24)
        func pad(_ value: Int32, _ width: Int) {
            let digits = String(value)
            text += String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        pad(parts.tm_year + 1900, 4); text += "-"; pad(parts.tm_mon + 1, 2); text += "-"; pad(parts.tm_mday, 2)
        text += "T"; pad(parts.tm_hour, 2); text += ":"; pad(parts.tm_min, 2); text += ":"; pad(parts.tm_sec, 2)
        text += "."; pad(Int32(milliseconds % 1000), 3); text += "Z"
        return text
    }
}

import Foundation

/// Request ids: a client's `X-Request-Id` is kept when it is short and plain, so ids can be
/// followed across services; anything else is replaced, because it lands in every log line.
enum RequestID {
    static let maximumLength = 128

    static func accept(_ supplied: String?) -> String {
        if let supplied, !supplied.isEmpty, supplied.utf8.count <= maximumLength,
           supplied.utf8.allSatisfy(isAllowed) {
            return supplied
        }
        return UUID().uuidString.lowercased()
    }

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

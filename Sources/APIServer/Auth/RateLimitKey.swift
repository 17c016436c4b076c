import Foundation

/// What the per-address limiters count by. An IPv6 client is counted by its /64, the smallest
/// block a network hands one subscriber: counted by its full address, a client holding a /64
/// (every home and cloud host does) would get a fresh bucket for each of its 2⁶⁴ addresses, and
/// with it as many password hashes as it likes. An IPv4 address (also an IPv4-mapped IPv6 one)
/// is counted alone; anything else that is not an address (a proxy's header) as written.
enum RateLimitKey {
    static func of(_ address: String) -> String {
        let text = address.hasPrefix("[") && address.hasSuffix("]") ? String(address.dropFirst().dropLast()) : address
        // IPv4 comes back IPv4-mapped, so one test covers it and the mapped IPv6 form.
        guard let (bytes, _) = AddressRange.parse(text) else { return address }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        let prefix = stride(from: 0, to: 8, by: 2).map { String(format: "%02x%02x", bytes[$0], bytes[$0 + 1]) }
        return prefix.joined(separator: ":") + "::/64"
    }
}

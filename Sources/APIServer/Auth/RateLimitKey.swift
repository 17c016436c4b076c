import Foundation

/// What the per-address limiters count by. An IPv6 client is counted by its /64, the smallest
/// block a network hands one subscriber: counted by its full address, a client holding a /64
/// (every home and cloud host does) would get a fresh bucket for each of its 2⁶⁴ addresses, and
/// with it as many password hashes as it likes. An IPv4 address (also an IPv4-mapped IPv6 one)
/// is counted alone; anything else that is not an address (a proxy's header) as written.
enum RateLimitKey {
    static func of(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var bytes = in6_addr()
        let text = address.hasPrefix("[") && address.hasSuffix("]") ? String(address.dropFirst().dropLast()) : address
        guard inet_pton(AF_INET6, text, &bytes) == 1 else { return address }
        let octets = withUnsafeBytes(of: bytes) { Array($0) }
        if octets[0..<10].allSatisfy({ $0 == 0 }), octets[10] == 0xff, octets[11] == 0xff {
            return octets[12..<16].map(String.init).joined(separator: ".")
        }
        let prefix = stride(from: 0, to: 8, by: 2).map { String(format: "%02x%02x", octets[$0], octets[$0 + 1]) }
        return prefix.joined(separator: ":") + "::/64"
    }
}

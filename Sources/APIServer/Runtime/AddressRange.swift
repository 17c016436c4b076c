import Foundation

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or one address without a
/// prefix length), for `TRUSTED_PROXY_CIDRS`. An IPv4-mapped IPv6 peer (`::ffff:10.1.2.3`) matches
/// an IPv4 range.
struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    /// 16 bytes; IPv4 is kept in its IPv4-mapped IPv6 form so one comparison covers both.
    private let network: [UInt8]
    /// Leading bits that must match, counted in the 16-byte form.
    private let prefixBits: Int
    let description: String

    /// nil for anything that is not an address with an optional, in-range prefix length.
    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let (bytes, isIPv4) = Self.parse(String(parts[0])) else { return nil }
        let maximum = isIPv4 ? 32 : 128
        var length = maximum
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy(\.isASCII), let parsed = Int(parts[1]), (0...maximum).contains(parsed) else { return nil }
            length = parsed
        }
        prefixBits = isIPv4 ? 96 + length : length
        network = Self.masked(bytes, bits: prefixBits)
        description = text
    }

    /// Whether `address` (the text form a socket gives) lies in this range; false for anything unparseable.
    func contains(_ address: String) -> Bool {
        guard let (bytes, _) = Self.parse(address) else { return false }
        return Self.masked(bytes, bits: prefixBits) == network
    }

    private static func masked(_ bytes: [UInt8], bits: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let kept = min(8, max(0, bits - index * 8))
            return kept == 8 ? byte : byte & ~(UInt8(0xFF) >> kept)
        }
    }

    /// The 16-byte form (IPv4 as IPv4-mapped IPv6), and whether the text was IPv4.
    static func parse(_ text: String) -> ([UInt8], Bool)? {
        var ipv4 = in_addr()
        if inet_pton(AF_INET, text, &ipv4) == 1 {
            let value = UInt32(bigEndian: ipv4.s_addr)
            return (Array(repeating: 0, count: 10) + [0xFF, 0xFF, UInt8(value >> 24), UInt8((value >> 16) & 0xFF),
                                                      UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)], true)
        }
        var ipv6 = in6_addr()
        guard inet_pton(AF_INET6, text, &ipv6) == 1 else { return nil }
        return (withUnsafeBytes(of: ipv6) { Array($0) }, false)
    }
}

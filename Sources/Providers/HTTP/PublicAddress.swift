import CCurl
import Foundation

/// Whether an IP address is on the public internet. A provider's output URL is chosen by whoever
/// answers as that provider (for FAL, any app a user deployed), so a download from it may go only
/// to public addresses: never to this machine, its network or the cloud's metadata service.
/// Checked on the address libcurl is about to connect to, so a public name that resolves to a
/// private address is refused too.
enum PublicAddress {
    /// IPv4, four bytes in network order.
    static func isPublic(ipv4 b: [UInt8]) -> Bool {
        guard b.count == 4 else { return false }
        switch (b[0], b[1]) {
        case (0, _), (10, _), (127, _): return false            // "this network", private, loopback
        case (100, 64...127): return false                      // shared address space (carrier NAT)
        case (169, 254): return false                           // link-local, cloud metadata
        case (172, 16...31): return false                       // private
        case (192, 168): return false                           // private
        case (192, 0) where b[2] == 0 || b[2] == 2: return false // IETF assignments, TEST-NET-1
        case (198, 18...19): return false                       // benchmarking
        case (198, 51) where b[2] == 100: return false          // TEST-NET-2
        case (203, 0) where b[2] == 113: return false           // TEST-NET-3
        case (224...255, _): return false                       // multicast, reserved, broadcast
        default: return true
        }
    }

    /// IPv6, sixteen bytes in network order; IPv4-mapped and -compatible forms are judged as IPv4.
    static func isPublic(ipv6 b: [UInt8]) -> Bool {
        guard b.count == 16 else { return false }
        if b[0..<10].allSatisfy({ $0 == 0 }) && ((b[10] == 0xFF && b[11] == 0xFF) || (b[10] == 0 && b[11] == 0)) {
            // ::ffff:a.b.c.d and ::a.b.c.d (the latter also covers :: and ::1, both refused as 0.x and 0.0.0.1).
            return isPublic(ipv4: Array(b[12..<16]))
        }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B { return isPublic(ipv4: Array(b[12..<16])) } // NAT64
        if b[0] & 0xFE == 0xFC { return false }                // unique local fc00::/7
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return false } // link-local fe80::/10
        if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return false } // site-local fec0::/10 (deprecated)
        if b[0] == 0xFF { return false }                       // multicast
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8 { return false } // documentation
        return b[0] & 0xE0 == 0x20                             // global unicast 2000::/3 only
    }

    /// Whether a URL's host is this machine or a private network written as such ("localhost", a
    /// private or loopback IP literal): a provider configured there (a test's fake, a gateway on the
    /// same network) may hand out output URLs there too.
    static func isLocalHost(ofURL url: String) -> Bool {
        guard let host = URL(string: url)?.host?.lowercased(), !host.isEmpty else { return false }
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return !isPublic(ipv4: withUnsafeBytes(of: &v4) { Array($0) })
        }
        var v6 = in6_addr()
        let literal = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if inet_pton(AF_INET6, literal, &v6) == 1 {
            return !isPublic(ipv6: withUnsafeBytes(of: &v6) { Array($0) })
        }
        return false
    }

    /// libcurl's socket opener for transfers that may reach public addresses only: a socket for a
    /// public address, `CURL_SOCKET_BAD` (the connect fails) for any other, noted on the transfer.
    static let openSocket: @convention(c) (UnsafeMutableRawPointer?, curlsocktype, UnsafeMutablePointer<curl_sockaddr>?) -> curl_socket_t = {
        clientp, _, address in
        guard let address else { return CURL_SOCKET_BAD }
        let family = address.pointee.family
        // `addr` is the start of libcurl's full address storage (a sockaddr_in6 is longer than
        // the sockaddr the struct declares): read it through the length libcurl gives.
        let length = min(Int(address.pointee.addrlen), 128)
        let start = UnsafeRawPointer(address) + (MemoryLayout<curl_sockaddr>.offset(of: \curl_sockaddr.addr) ?? 16)
        let bytes = UnsafeRawBufferPointer(start: start, count: length)
        let allowed = if family == AF_INET, length >= 8 {
            isPublic(ipv4: Array(bytes[4..<8]))
        } else if family == AF_INET6, length >= 24 {
            isPublic(ipv6: Array(bytes[8..<24]))
        } else {
            false
        }
        guard allowed else {
            if let clientp { Unmanaged<CurlTransferState>.fromOpaque(clientp).takeUnretainedValue().refusedAddress = true }
            return CURL_SOCKET_BAD
        }
        return socket(family, address.pointee.socktype, address.pointee.protocol)
    }
}

import COpenSSL
import Foundation

public enum SHA256 {
    public static let byteCount = 32

    public static func hash(_ data: some ContiguousBytes) throws -> [UInt8] {
        let md = try OpenSSLAlgorithms.require(OpenSSLAlgorithms.shared.sha256, "SHA2-256")
        var digest = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { input in
            digest.withUnsafeMutableBufferPointer { out in
                EVP_Digest(input.baseAddress, input.count,
                           out.baseAddress, &length, md, nil)
            }
        }
        guard ok == 1, length == UInt32(byteCount) else {
            ERR_clear_error()
            throw CryptoError.libraryFailure("EVP_Digest")
        }
        return digest
    }
}

public enum HMACSHA256 {
    public static let byteCount = 32

    /// The 32-byte HMAC-SHA256 (RFC 2104) of `message` under `key`.
    public static func mac(for message: some ContiguousBytes, key: some ContiguousBytes) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        try out.withUnsafeMutableBytes { try compute(message: message, key: key, into: $0) }
        return out
    }

    /// Whether `mac` is the HMAC of `message` under `key`, compared in constant time.
    public static func isValid(_ mac: some ContiguousBytes, for message: some ContiguousBytes,
                               key: some ContiguousBytes) throws -> Bool {
        var expected = [UInt8](repeating: 0, count: byteCount)
        try expected.withUnsafeMutableBytes { try compute(message: message, key: key, into: $0) }
        return ConstantTime.equals(expected, mac)
    }

    static func compute(message: some ContiguousBytes, key: some ContiguousBytes,
                        into out: UnsafeMutableRawBufferPointer) throws {
        precondition(out.count == byteCount)
        let mac = try OpenSSLAlgorithms.require(OpenSSLAlgorithms.shared.hmac, "HMAC")
        let ok = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                copenssl_hmac_sha256(mac, k.baseAddress, k.count, m.baseAddress, m.count,
                                     out.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard ok == 1 else {
            ERR_clear_error()
            throw CryptoError.libraryFailure("HMAC-SHA256")
        }
    }
}

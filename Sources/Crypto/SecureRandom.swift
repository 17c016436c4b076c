import COpenSSL
import Foundation

/// Cryptographically secure random bytes from OpenSSL's DRBG (seeded from the kernel).
public enum SecureRandom {
    /// `count` random bytes, for values that are not secret once made (nonces, salts, ids).
    public static func bytes(count: Int) throws -> [UInt8] {
        guard count >= 0 else { throw CryptoError.invalidParameters("negative random byte count") }
        var result = [UInt8](repeating: 0, count: count)
        try result.withUnsafeMutableBytes { try fill($0) }
        return result
    }

    /// `count` random bytes generated straight into protected storage, for keys.
    public static func secret(count: Int) throws -> SecretBytes {
        guard count >= 0 else { throw CryptoError.invalidParameters("negative random byte count") }
        return try SecretBytes(count: count) { try fill($0) }
    }

    /// A failure here is an error for the caller, never a reason to fall back to a weaker source.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        guard buffer.count <= Int(Int32.max) else {
            throw CryptoError.invalidParameters("random request larger than 2 GiB")
        }
        guard RAND_bytes(base.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)) == 1 else {
            ERR_clear_error()
            throw CryptoError.randomUnavailable
        }
    }
}

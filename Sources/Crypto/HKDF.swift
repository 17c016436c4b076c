import COpenSSL
import Foundation

/// HKDF with SHA-256 (RFC 5869), for sub-keys of one master key: each purpose gets its own
/// `info`, so a key derived for one purpose is useless for another.
public enum HKDFSHA256 {
    /// RFC 5869 §2.3: at most 255 blocks of the hash output.
    public static let maximumOutputByteCount = 255 * SHA256.byteCount

    public static func deriveKey(inputKeyMaterial: some ContiguousBytes, salt: some ContiguousBytes,
                                 info: some ContiguousBytes, outputByteCount: Int) throws -> SecretBytes {
        guard (1...maximumOutputByteCount).contains(outputByteCount) else {
            throw CryptoError.invalidParameters("HKDF output length must be 1...\(maximumOutputByteCount)")
        }
        return try SecretBytes(count: outputByteCount) { out in
            let ok = inputKeyMaterial.withUnsafeBytes { ikm in
                salt.withUnsafeBytes { salt in
                    info.withUnsafeBytes { info in
                        copenssl_hkdf_sha256(ikm.baseAddress, ikm.count, salt.baseAddress, salt.count,
                                             info.baseAddress, info.count,
                                             out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count)
                    }
                }
            }
            guard ok == 1 else {
                ERR_clear_error()
                throw CryptoError.libraryFailure("EVP_KDF_derive(HKDF)")
            }
        }
    }

    /// A 256-bit AES key for one purpose, derived from a master key.
    public static func deriveEncryptionKey(from master: SecretBytes, salt: some ContiguousBytes,
                                           info: String) throws -> EncryptionKey {
        try EncryptionKey(deriveKey(inputKeyMaterial: master, salt: salt, info: Array(info.utf8),
                                    outputByteCount: EncryptionKey.byteCount))
    }
}

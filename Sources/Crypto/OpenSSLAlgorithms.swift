import COpenSSL

/// Algorithm objects fetched once per process.
///
/// OpenSSL 3 looks an algorithm up in its provider store on every implicit use
/// (`EVP_aes_256_gcm()`, `HMAC()`), which takes locks; an explicitly fetched object can be
/// reused from any thread because it is immutable and reference counted. They are kept for the
/// life of the process and never freed. A failed fetch is kept as `nil` and reported by the
/// caller as `CryptoError.libraryFailure`, never as a crash.
struct OpenSSLAlgorithms: @unchecked Sendable {
    let aes256GCM: OpaquePointer?
    let sha256: OpaquePointer?
    let hmac: OpaquePointer?

    static let shared = OpenSSLAlgorithms(
        aes256GCM: EVP_CIPHER_fetch(nil, "AES-256-GCM", nil),
        sha256: EVP_MD_fetch(nil, "SHA2-256", nil),
        hmac: EVP_MAC_fetch(nil, "HMAC", nil)
    )

    static func require(_ algorithm: OpaquePointer?, _ name: String) throws -> OpaquePointer {
        guard let algorithm else {
            ERR_clear_error()
            throw CryptoError.libraryFailure("fetch \(name)")
        }
        return algorithm
    }
}

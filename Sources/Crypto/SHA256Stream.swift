import Domain
import COpenSSL
import Foundation

/// SHA-256 over bytes given piece by piece (a file hashed while it is copied). One owner at a time.
public final class SHA256Stream {
    private let context: OpaquePointer
    private var finished = false

    public init() throws {
        let md = try OpenSSLAlgorithms.require(OpenSSLAlgorithms.shared.sha256, "SHA2-256")
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.libraryFailure("EVP_MD_CTX_new") }
        guard EVP_DigestInit_ex(context, md, nil) == 1 else {
            EVP_MD_CTX_free(context)
            ERR_clear_error()
            throw CryptoError.libraryFailure("EVP_DigestInit_ex")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw CryptoError.libraryFailure("SHA256Stream used after finish") }
        guard bytes.count > 0 else { return }
        guard EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1 else {
            ERR_clear_error()
            throw CryptoError.libraryFailure("EVP_DigestUpdate")
        }
    }

    public func finish() throws -> [UInt8] {
        guard !finished else { throw CryptoError.libraryFailure("SHA256Stream used after finish") }
        finished = true
        var digest = [UInt8](repeating: 0, count: SHA256.byteCount)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1, length == UInt32(SHA256.byteCount) else {
            ERR_clear_error()
            throw CryptoError.libraryFailure("EVP_DigestFinal_ex")
        }
        return digest
    }
}

/// The storage port hashes uploads while it copies them.
extension SHA256Stream: StreamingDigest {}

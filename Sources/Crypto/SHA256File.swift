import COpenSSL
import Foundation

extension SHA256 {
    /// The SHA-256 of a file's bytes, read in 1 MiB chunks so a large file is never held whole
    /// in memory (object-store keys are the content's hash, computed before the upload).
    public static func hash(fileAt path: String) throws -> [UInt8] {
        let md = try OpenSSLAlgorithms.require(OpenSSLAlgorithms.shared.sha256, "SHA2-256")
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.libraryFailure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestInit_ex(context, md, nil) == 1 else {
            ERR_clear_error()
            throw CryptoError.libraryFailure("EVP_DigestInit_ex")
        }
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            let ok = chunk.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
            guard ok == 1 else {
                ERR_clear_error()
                throw CryptoError.libraryFailure("EVP_DigestUpdate")
            }
        }
        var digest = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1, length == UInt32(byteCount) else {
            ERR_clear_error()
            throw CryptoError.libraryFailure("EVP_DigestFinal_ex")
        }
        return digest
    }
}

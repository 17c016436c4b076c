import COpenSSL
import Foundation

/// AES-256-GCM on raw buffers (NIST SP 800-38D): 96-bit nonce, 128-bit tag. Internal on
/// purpose: callers outside this module get `SealedEnvelope`, which always draws a fresh random
/// nonce, so that no caller can reuse a nonce under the same key (that would leak the XOR of
/// two plaintexts and the GHASH key).
enum AESGCM {
    static let nonceByteCount = 12
    static let tagByteCount = 16

    /// Associated data comes in two parts so the envelope can authenticate its own header ahead
    /// of the caller's data without concatenating them in a new buffer.
    static func seal(key: EncryptionKey, nonce: UnsafeRawBufferPointer,
                     header: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
                     plaintext: UnsafeRawBufferPointer,
                     ciphertext: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawBufferPointer) throws {
        guard nonce.count == nonceByteCount, tag.count == tagByteCount, ciphertext.count == plaintext.count,
              plaintext.count <= Int(Int32.max)
        else { throw CryptoError.invalidParameters("AES-GCM buffer sizes") }
        let cipher = try OpenSSLAlgorithms.require(OpenSSLAlgorithms.shared.aes256GCM, "AES-256-GCM")
        guard let ctx = EVP_CIPHER_CTX_new() else { throw failure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }

        // The default GCM IV length is 12 bytes, which is the only length used here, so key and
        // nonce can be set in the same call as the cipher.
        let initialised = key.secret.withUnsafeBytes { k in
            EVP_EncryptInit_ex2(ctx, cipher, bytePointer(k), bytePointer(nonce), nil)
        }
        guard initialised == 1 else { throw failure("EVP_EncryptInit_ex2") }
        try authenticate(ctx, header, encrypting: true)
        try authenticate(ctx, associatedData, encrypting: true)

        var written: Int32 = 0
        if plaintext.count > 0 {
            guard EVP_EncryptUpdate(ctx, bytePointer(ciphertext), &written,
                                    bytePointer(plaintext), Int32(plaintext.count)) == 1,
                  Int(written) == plaintext.count
            else { throw failure("EVP_EncryptUpdate") }
        }
        // GCM is a stream mode: Final emits no bytes, it only completes the tag.
        let finished = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { scratch in
            EVP_EncryptFinal_ex(ctx, scratch.baseAddress, &written)
        }
        guard finished == 1, written == 0,
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagByteCount), tag.baseAddress) == 1
        else { throw failure("EVP_EncryptFinal_ex") }
    }

    /// Decrypts into `plaintext` and checks the tag. On any failure the caller must discard
    /// `plaintext`: OpenSSL writes it before the tag is known to be good.
    static func open(key: EncryptionKey, nonce: UnsafeRawBufferPointer,
                     header: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
                     ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer,
                     plaintext: UnsafeMutableRawBufferPointer) throws {
        guard nonce.count == nonceByteCount, tag.count == tagByteCount, plaintext.count == ciphertext.count,
              ciphertext.count <= Int(Int32.max)
        else { throw CryptoError.openFailed }
        let cipher = try OpenSSLAlgorithms.require(OpenSSLAlgorithms.shared.aes256GCM, "AES-256-GCM")
        guard let ctx = EVP_CIPHER_CTX_new() else { throw failure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }

        let initialised = key.secret.withUnsafeBytes { k in
            EVP_DecryptInit_ex2(ctx, cipher, bytePointer(k), bytePointer(nonce), nil)
        }
        guard initialised == 1 else { throw failure("EVP_DecryptInit_ex2") }
        try authenticate(ctx, header, encrypting: false)
        try authenticate(ctx, associatedData, encrypting: false)

        var written: Int32 = 0
        if ciphertext.count > 0 {
            guard EVP_DecryptUpdate(ctx, bytePointer(plaintext), &written,
                                    bytePointer(ciphertext), Int32(ciphertext.count)) == 1,
                  Int(written) == ciphertext.count
            else { throw failure("EVP_DecryptUpdate") }
        }
        // SET_TAG takes a mutable pointer although it only reads; hand it a private copy. Final
        // writes no bytes in GCM, but gets a valid buffer all the same.
        let (tagSet, verified) = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { scratch in
            UnsafeMutableRawBufferPointer(scratch).copyMemory(from: tag)
            let tagSet = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagByteCount), scratch.baseAddress)
            guard tagSet == 1 else { return (tagSet, Int32(0)) }
            return (tagSet, EVP_DecryptFinal_ex(ctx, scratch.baseAddress! + tagByteCount, &written))
        }
        guard tagSet == 1 else { throw failure("EVP_CTRL_GCM_SET_TAG") }
        guard verified == 1 else {
            ERR_clear_error()
            throw CryptoError.openFailed
        }
    }

    private static func authenticate(_ ctx: OpaquePointer, _ data: UnsafeRawBufferPointer, encrypting: Bool) throws {
        guard data.count > 0 else { return }
        guard data.count <= Int(Int32.max) else { throw CryptoError.invalidParameters("associated data larger than 2 GiB") }
        var written: Int32 = 0
        let bytes = bytePointer(data)
        let ok = encrypting
            ? EVP_EncryptUpdate(ctx, nil, &written, bytes, Int32(data.count))
            : EVP_DecryptUpdate(ctx, nil, &written, bytes, Int32(data.count))
        guard ok == 1 else { throw failure(encrypting ? "EVP_EncryptUpdate(aad)" : "EVP_DecryptUpdate(aad)") }
    }

    /// C takes `unsigned char *`; every buffer reaching here holds plain bytes.
    private static func bytePointer(_ buffer: UnsafeRawBufferPointer) -> UnsafePointer<UInt8>? {
        buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
    }

    private static func bytePointer(_ buffer: UnsafeMutableRawBufferPointer) -> UnsafeMutablePointer<UInt8>? {
        buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
    }

    private static func failure(_ call: String) -> CryptoError {
        ERR_clear_error()
        return .libraryFailure(call)
    }
}

// MARK: - Array convenience for known-answer tests with fixed nonces

extension AESGCM {
    static func seal(_ plaintext: [UInt8], key: EncryptionKey, nonce: [UInt8],
                     associatedData: [UInt8]) throws -> (ciphertext: [UInt8], tag: [UInt8]) {
        guard nonce.count == nonceByteCount else { throw CryptoError.invalidParameters("nonce must be 12 bytes") }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        var tag = [UInt8](repeating: 0, count: tagByteCount)
        try plaintext.withUnsafeBytes { p in
            try nonce.withUnsafeBytes { n in
                try associatedData.withUnsafeBytes { a in
                    try ciphertext.withUnsafeMutableBytes { c in
                        try tag.withUnsafeMutableBytes { t in
                            try seal(key: key, nonce: n, header: UnsafeRawBufferPointer(start: nil, count: 0),
                                     associatedData: a, plaintext: p, ciphertext: c, tag: t)
                        }
                    }
                }
            }
        }
        return (ciphertext, tag)
    }

    static func open(ciphertext: [UInt8], tag: [UInt8], key: EncryptionKey, nonce: [UInt8],
                     associatedData: [UInt8]) throws -> SecretBytes {
        try SecretBytes(count: ciphertext.count) { out in
            try ciphertext.withUnsafeBytes { c in
                try tag.withUnsafeBytes { t in
                    try nonce.withUnsafeBytes { n in
                        try associatedData.withUnsafeBytes { a in
                            try open(key: key, nonce: n, header: UnsafeRawBufferPointer(start: nil, count: 0),
                                     associatedData: a, ciphertext: c, tag: t, plaintext: out)
                        }
                    }
                }
            }
        }
    }
}

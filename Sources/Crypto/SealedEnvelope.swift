import Foundation

/// An AES-256-GCM ciphertext that says how to open it.
///
/// Binary layout (format version 1), 33 bytes of overhead:
///
///     offset  size  field
///     0       1     format version (1)
///     1       4     key version, big-endian
///     5       12    nonce, random per seal
///     17      n     ciphertext (same length as the plaintext)
///     17+n    16    GCM tag
///
/// The first five bytes are authenticated as associated data ahead of the caller's own, so a
/// changed format or key version fails to open like any other changed byte. The nonce is random:
/// with 96 bits, NIST SP 800-38D §8.3 allows 2^32 seals per key before rotation is due, far
/// beyond what one key sees here.
public struct SealedEnvelope: Sendable, Hashable {
    public static let formatVersion: UInt8 = 1
    static let headerByteCount = 5
    static let nonceRange = 5..<17
    public static let overhead = headerByteCount + AESGCM.nonceByteCount + AESGCM.tagByteCount

    /// The complete envelope, ready to store (for example in a `bytea` column).
    public let bytes: [UInt8]

    /// Accepts stored bytes. Anything too short to be an envelope, or of an unknown format
    /// version, is `CryptoError.openFailed`: to the caller it is just an envelope that does not open.
    public init(bytes: [UInt8]) throws {
        guard bytes.count >= Self.overhead, bytes[0] == Self.formatVersion else { throw CryptoError.openFailed }
        self.bytes = bytes
    }

    /// Accepts the text form made by `base64EncodedString()` (standard alphabet, padded).
    public init(base64Encoded text: String) throws {
        guard let data = Data(base64Encoded: text) else { throw CryptoError.openFailed }
        try self.init(bytes: [UInt8](data))
    }

    public func base64EncodedString() -> String {
        Data(bytes).base64EncodedString()
    }

    /// The version of the key this envelope was sealed with, for looking it up in a keyring.
    public var keyVersion: UInt32 {
        bytes[1..<5].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Encrypts `plaintext` under `key`, binding it to `associatedData` (for instance the owner's
    /// id and the row's id, so that the envelope does not open if copied elsewhere).
    public static func seal(_ plaintext: some ContiguousBytes, key: EncryptionKey, keyVersion: UInt32,
                            associatedData: some ContiguousBytes) throws -> SealedEnvelope {
        let bytes = try plaintext.withUnsafeBytes { plain in
            try associatedData.withUnsafeBytes { ad in
                var bytes = [UInt8](repeating: 0, count: overhead + plain.count)
                bytes[0] = formatVersion
                bytes[1] = UInt8(truncatingIfNeeded: keyVersion >> 24)
                bytes[2] = UInt8(truncatingIfNeeded: keyVersion >> 16)
                bytes[3] = UInt8(truncatingIfNeeded: keyVersion >> 8)
                bytes[4] = UInt8(truncatingIfNeeded: keyVersion)
                try bytes.withUnsafeMutableBytes { out in
                    let nonce = UnsafeMutableRawBufferPointer(rebasing: out[nonceRange])
                    try SecureRandom.fill(nonce)
                    let ciphertextEnd = nonceRange.upperBound + plain.count
                    try AESGCM.seal(
                        key: key, nonce: UnsafeRawBufferPointer(nonce),
                        header: UnsafeRawBufferPointer(rebasing: out[0..<headerByteCount]),
                        associatedData: ad, plaintext: plain,
                        ciphertext: UnsafeMutableRawBufferPointer(rebasing: out[nonceRange.upperBound..<ciphertextEnd]),
                        tag: UnsafeMutableRawBufferPointer(rebasing: out[ciphertextEnd...]))
                }
                return bytes
            }
        }
        return SealedEnvelope(unchecked: bytes)
    }

    /// The plaintext, or `CryptoError.openFailed` for a wrong key, any changed byte or changed
    /// associated data. Never partial plaintext: decryption writes into storage that is wiped and
    /// dropped unless the tag verifies.
    public func open(key: EncryptionKey, associatedData: some ContiguousBytes) throws -> SecretBytes {
        let ciphertextEnd = bytes.count - AESGCM.tagByteCount
        return try bytes.withUnsafeBytes { all in
            try associatedData.withUnsafeBytes { ad in
                try SecretBytes(count: ciphertextEnd - Self.nonceRange.upperBound) { out in
                    try AESGCM.open(
                        key: key,
                        nonce: UnsafeRawBufferPointer(rebasing: all[Self.nonceRange]),
                        header: UnsafeRawBufferPointer(rebasing: all[0..<Self.headerByteCount]),
                        associatedData: ad,
                        ciphertext: UnsafeRawBufferPointer(rebasing: all[Self.nonceRange.upperBound..<ciphertextEnd]),
                        tag: UnsafeRawBufferPointer(rebasing: all[ciphertextEnd...]),
                        plaintext: out)
                }
            }
        }
    }

    private init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
    }
}

extension SealedEnvelope: CustomStringConvertible {
    public var description: String {
        "SealedEnvelope(format: \(bytes[0]), keyVersion: \(keyVersion), \(bytes.count) bytes)"
    }
}

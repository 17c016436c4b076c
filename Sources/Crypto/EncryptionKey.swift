import Foundation

/// A 256-bit AES key. Its size is checked once, here, so that seal and open cannot be handed a
/// key of the wrong length.
public struct EncryptionKey: Sendable, Equatable {
    public static let byteCount = 32

    let secret: SecretBytes

    public init(_ secret: SecretBytes) throws {
        guard secret.count == Self.byteCount else {
            throw CryptoError.invalidKeyLength(expected: Self.byteCount, actual: secret.count)
        }
        self.secret = secret
    }

    /// A fresh key from the secure random generator.
    public static func random() throws -> EncryptionKey {
        try EncryptionKey(SecureRandom.secret(count: byteCount))
    }
}

extension EncryptionKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "EncryptionKey(\(secret))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

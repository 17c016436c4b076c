import Foundation

/// The set of encryption keys by version, for rotation: new envelopes are sealed with the
/// current key; old ones still open with the key their version names, and `needsResealing`
/// tells a rotation job which ones to rewrite.
public struct Keyring: Sendable {
    public let currentVersion: UInt32
    private let keys: [UInt32: EncryptionKey]

    public init(currentVersion: UInt32, keys: [UInt32: EncryptionKey]) throws {
        guard keys[currentVersion] != nil else {
            throw CryptoError.invalidParameters("keyring has no key for its current version \(currentVersion)")
        }
        self.currentVersion = currentVersion
        self.keys = keys
    }

    /// Versions held, oldest first.
    public var versions: [UInt32] { keys.keys.sorted() }

    public func seal(_ plaintext: some ContiguousBytes, associatedData: some ContiguousBytes) throws -> SealedEnvelope {
        // The initialiser guarantees the current key is present.
        try SealedEnvelope.seal(plaintext, key: keys[currentVersion]!, keyVersion: currentVersion,
                                associatedData: associatedData)
    }

    /// Opens with the key the envelope names: `CryptoError.unknownKeyVersion` if that key is not
    /// held, otherwise exactly `SealedEnvelope.open`'s answer.
    public func open(_ envelope: SealedEnvelope, associatedData: some ContiguousBytes) throws -> SecretBytes {
        guard let key = keys[envelope.keyVersion] else { throw CryptoError.unknownKeyVersion(envelope.keyVersion) }
        return try envelope.open(key: key, associatedData: associatedData)
    }

    public func needsResealing(_ envelope: SealedEnvelope) -> Bool {
        envelope.keyVersion != currentVersion
    }
}

extension Keyring: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "Keyring(current: \(currentVersion), versions: \(versions), keys redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["currentVersion": currentVersion], displayStyle: .struct) }
}

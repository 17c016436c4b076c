import Domain
import Foundation
import Synchronization

/// The keys of the vault, derived from `APP_ENCRYPTION_SECRET` (and `_PREVIOUS` during a rotation).
///
/// scrypt(secret, deployment salt) gives a master key per secret; HKDF splits it into the AES key
/// for envelopes, the HMAC key for fingerprints, and the key *version*. The version is a
/// fingerprint of the secret rather than a counter, so every process that holds a secret agrees
/// on its version without coordination, and each envelope names the secret that sealed it: a
/// rotation that crashes half-way leaves rows under two versions, both of which open while the
/// keyring holds both secrets.
public struct VaultKeyMaterial: Sendable {
    public struct Version: Sendable {
        public let number: UInt32
        public let encryptionKey: EncryptionKey
        public let fingerprintKey: SecretBytes
    }

    public let keyring: Keyring
    /// Current first.
    public let versions: [Version]

    public static func derive(secret: String, previous: String?, salt: Data, parameters: ScryptParameters) throws -> VaultKeyMaterial {
        let current = try version(of: secret, salt: salt, parameters: parameters)
        var versions = [current]
        if let previous, previous != secret {
            let old = try version(of: previous, salt: salt, parameters: parameters)
            guard old.number != current.number else {
                // 1 in 2^32 for two different secrets; refuse rather than mix them up.
                throw CryptoError.invalidParameters("APP_ENCRYPTION_SECRET and APP_ENCRYPTION_SECRET_PREVIOUS map to the same key version; choose another secret")
            }
            versions.append(old)
        }
        let keyring = try Keyring(currentVersion: current.number,
                                  keys: Dictionary(uniqueKeysWithValues: versions.map { ($0.number, $0.encryptionKey) }))
        releaseFreedMemory()
        return VaultKeyMaterial(keyring: keyring, versions: versions)
    }

    /// scrypt's working set (32 MiB at the default cost) is freed when each derivation ends; hand
    /// the freed pages back to the system so that a server at rest does not keep them. glibc
    /// already unmaps a block that large, but a smaller cost, or the heap the start-up left behind
    /// in the arenas, stays resident until trimmed.
    private static func releaseFreedMemory() {
        // glibc's `malloc_trim`, looked up because no module map here exports <malloc.h>.
        typealias MallocTrim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
    }

    private static func version(of secret: String, salt: Data, parameters: ScryptParameters) throws -> Version {
        let master = try Scrypt.deriveKey(password: SecretBytes(utf8: secret), salt: [UInt8](salt), parameters: parameters)
        let encryptionKey = try HKDFSHA256.deriveEncryptionKey(from: master, salt: [UInt8](), info: "mw.vault.api-key-encryption.v1")
        let fingerprintKey = try HKDFSHA256.deriveKey(inputKeyMaterial: master, salt: [UInt8](),
                                                      info: Array("mw.vault.api-key-fingerprint.v1".utf8), outputByteCount: 32)
        let versionBytes = try HKDFSHA256.deriveKey(inputKeyMaterial: master, salt: [UInt8](),
                                                    info: Array("mw.vault.key-version.v1".utf8), outputByteCount: 4)
        // Not secret: 32 bits of a one-way function of the master key, stored in every envelope.
        let number = versionBytes.withUnsafeBytes { bytes in bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
        return Version(number: number, encryptionKey: encryptionKey, fingerprintKey: fingerprintKey)
    }
}

/// Derives the key material once, on first use, and keeps it. Lazy because the salt lives in the
/// database, which may not be migrated yet when the process starts; `serve` asks for it eagerly.
public final class VaultKeySource: Sendable {
    private let state = Mutex<VaultKeyMaterial?>(nil)
    private let load: @Sendable () throws -> VaultKeyMaterial

    public init(load: @escaping @Sendable () throws -> VaultKeyMaterial) {
        self.load = load
    }

    public func material() throws -> VaultKeyMaterial {
        try state.withLock { cached in
            if let cached { return cached }
            let loaded = try load()
            cached = loaded
            return loaded
        }
    }
}

/// `ApiKeySealer` over AES-256-GCM envelopes and HMAC-SHA256 fingerprints.
public struct CryptoApiKeySealer: ApiKeySealer {
    public let keys: VaultKeySource

    public init(keys: VaultKeySource) {
        self.keys = keys
    }

    public func currentKeyVersion() throws -> UInt32 {
        try keys.material().keyring.currentVersion
    }

    public func seal(_ key: ProviderAPIKey, binding: ApiKeyBinding) throws -> (ciphertext: Data, keyVersion: UInt32) {
        let envelope = try keys.material().keyring.seal(SecretBytes(utf8: key.plaintext), associatedData: binding.associatedData)
        return (Data(envelope.bytes), envelope.keyVersion)
    }

    public func open(_ ciphertext: Data, binding: ApiKeyBinding) throws -> ProviderAPIKey {
        let keyring = try keys.material().keyring
        do {
            let plaintext = try keyring.open(SealedEnvelope(bytes: [UInt8](ciphertext)), associatedData: binding.associatedData)
            return plaintext.withUnsafeBytes { ProviderAPIKey(String(decoding: $0, as: UTF8.self)) }
        } catch is CryptoError {
            // Wrong secret, unknown version, changed bytes or a ciphertext from another row: one answer.
            throw KeyVaultError.unopenable(keyID: binding.keyID)
        }
    }

    public func fingerprints(of key: ProviderAPIKey, provider: ProviderID) throws -> [Data] {
        // The provider is part of the message so one string pasted for two providers gives two fingerprints.
        let message = Array("\(provider.rawValue)|".utf8) + Array(key.plaintext.utf8)
        return try keys.material().versions.map { Data(try HMACSHA256.mac(for: message, key: $0.fingerprintKey)) }
    }
}

import Foundation

/// Where a stored key stands with its provider. `unchecked` until a test call says otherwise.
public enum ApiKeyStatus: String, Sendable, Codable, CaseIterable {
    case unchecked, valid, invalid
}

/// A stored provider key as everyone but the router sees it: metadata and a mask, never the key
/// and never the ciphertext.
public struct ApiKeyRecord: Sendable, Equatable {
    public let id: UUID
    public let provider: ProviderID
    public let label: String
    /// `sk-…abcd`: the first three and last four characters, kept in clear so listing needs no decryption.
    public let mask: String
    public let status: ApiKeyStatus
    public let lastCheckedAt: Date?
    public let lastUsedAt: Date?
    public let createdAt: Date
    public let updatedAt: Date

    public init(id: UUID, provider: ProviderID, label: String, mask: String, status: ApiKeyStatus,
                lastCheckedAt: Date?, lastUsedAt: Date?, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.provider = provider
        self.label = label
        self.mask = mask
        self.status = status
        self.lastCheckedAt = lastCheckedAt
        self.lastUsedAt = lastUsedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What a new row holds: everything the store writes, already sealed by the use case.
public struct NewApiKey: Sendable {
    public let id: UUID
    public let userID: UUID
    public let provider: ProviderID
    public let label: String
    public let ciphertext: Data
    public let keyVersion: UInt32
    public let maskPrefix: String
    public let last4: String
    public let fingerprint: Data
    public let now: Date

    public init(id: UUID, userID: UUID, provider: ProviderID, label: String, ciphertext: Data, keyVersion: UInt32,
                maskPrefix: String, last4: String, fingerprint: Data, now: Date) {
        self.id = id
        self.userID = userID
        self.provider = provider
        self.label = label
        self.ciphertext = ciphertext
        self.keyVersion = keyVersion
        self.maskPrefix = maskPrefix
        self.last4 = last4
        self.fingerprint = fingerprint
        self.now = now
    }
}

/// A sealed key as the store hands it back for decryption.
public struct SealedApiKey: Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public let provider: ProviderID
    public let ciphertext: Data

    public init(id: UUID, userID: UUID, provider: ProviderID, ciphertext: Data) {
        self.id = id
        self.userID = userID
        self.provider = provider
        self.ciphertext = ciphertext
    }
}

/// What binds a ciphertext to its place: owner, row and provider. The sealer authenticates it as
/// associated data, so a ciphertext copied to another row, user or provider does not open.
public struct ApiKeyBinding: Sendable, Equatable {
    public let userID: UUID
    public let keyID: UUID
    public let provider: ProviderID

    public init(userID: UUID, keyID: UUID, provider: ProviderID) {
        self.userID = userID
        self.keyID = keyID
        self.provider = provider
    }

    /// Versioned and unambiguous (UUIDs have a fixed length; the provider comes last).
    public var associatedData: [UInt8] {
        Array("mw.api-key.v1|\(userID.lowercasedString)|\(keyID.lowercasedString)|\(provider.rawValue)".utf8)
    }
}

/// Failures of the vault that are not plain validation. None carries key material.
public enum KeyVaultError: Error, Equatable, Sendable {
    /// The ciphertext did not open: wrong secret, tampered bytes, or copied from another row or user.
    case unopenable(keyID: UUID)
    /// The user has no usable key for this provider.
    case noKey(ProviderID)
}

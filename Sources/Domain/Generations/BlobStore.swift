import Foundation

/// A stored blob: where it is and what it is.
public struct StoredBlob: Sendable, Equatable {
    public let key: String
    public let sha256: String
    public let bytes: Int64

    public init(key: String, sha256: String, bytes: Int64) {
        self.key = key
        self.sha256 = sha256
        self.bytes = bytes
    }
}

/// Reads a stored blob piece by piece (Range requests, streamed downloads), never whole.
public protocol BlobReader: Sendable {
    var size: Int64 { get }
    func read(offset: Int64, count: Int) throws -> Data
}

/// The storage port: local files or S3-compatible object storage (issue #17). Keys are made by
/// the store, never from user input: `BlobKey.make(owner:hex:)`, so identical content is stored
/// once per user and never shared between users (a user who knows another's hash can name only
/// their own copy, and deleting one user's blobs never touches another's).
public protocol BlobStore: Sendable {
    /// Moves or copies the file at `path` into `owner`'s part of the store, durably, before
    /// returning. Streams: the file is never read whole into memory.
    func put(fileAt path: String, owner: UUID) throws -> StoredBlob
    func put(_ data: Data, owner: UUID) throws -> StoredBlob
    /// The stored bytes, or nil for an unknown key. Small blobs only (provider outputs, text).
    func read(_ key: String) throws -> Data?
    func delete(_ key: String) throws
    /// A scratch folder for a provider to write one generation's outputs into (or an upload to be
    /// received into); removed by the caller.
    func scratchDirectory(for generation: UUID) throws -> String
    /// Where that folder is, without creating it: the providers create it when they first write a
    /// file there, so a generation that writes none (text) costs no directory.
    func scratchPath(for generation: UUID) throws -> String
    /// Removes that folder and whatever is left in it.
    func delete(scratchOf generation: UUID) throws
    /// nil for an unknown key.
    func reader(_ key: String) throws -> (any BlobReader)?
    /// A URL that fetches the blob without this server, or nil where the store has none (local files).
    func presignedURL(_ key: String, expiresInSeconds: Int, contentType: String, contentDisposition: String) throws -> String?
    func exists(_ key: String) throws -> Bool
    /// Every stored blob key of the per-user layout, for `storage gc`.
    func keys() throws -> [String]
    /// The keys of one user's blobs (removed with the account, orphans of a crash included).
    func keys(owner: UUID) throws -> [String]
    /// Keys of the layout from before blobs were per user (`BlobKey.legacy`), still to be moved.
    func legacyKeys() throws -> [String]
    /// Copies a legacy blob to `owner`'s key for the same bytes (a hard link locally, a
    /// server-side copy on S3); the legacy blob stays until the caller deletes it. nil when the
    /// legacy blob is missing.
    func copyLegacy(_ legacyKey: String, to owner: UUID) throws -> String?
}

/// The key layout both adapters share: `users/<owner uuid>/sha256/ab/cd/<64 hex>`. The owner is
/// part of the key, so one user's key never names another user's bytes; the SQL checks the same
/// shape against the row's user (migration 120), whichever function writes the row.
public enum BlobKey {
    public static let usersPrefix = "users/"
    /// The shape before migration 120: one blob for everyone's identical content.
    public static let legacyPrefix = "sha256/"

    public static func make(owner: UUID, hex: String) -> String {
        "users/\(owner.lowercasedString)/" + legacy(hex: hex)
    }

    public static func legacy(hex: String) -> String {
        "sha256/\(hex.prefix(2))/\(hex.dropFirst(2).prefix(2))/\(hex)"
    }

    /// The owner and hash of a key of the per-user shape; nil for anything else (`..`, upper
    /// case, a legacy key, a key from elsewhere).
    public static func parse(_ key: String) -> (owner: UUID, hex: String)? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "users", parts[1].utf8.count == 36,
              parts[1].utf8.allSatisfy({ isLowerHex($0) || $0 == UInt8(ascii: "-") }),
              let owner = UUID(uuidString: String(parts[1])), owner.lowercasedString == parts[1],
              let hex = parseLegacy(parts[2...].joined(separator: "/"))
        else { return nil }
        return (owner, hex)
    }

    /// The hash of a legacy key (`sha256/ab/cd/<hex>`), nil for anything else.
    public static func parseLegacy(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "sha256", parts[3].utf8.count == 64, parts[3].utf8.allSatisfy(isLowerHex),
              parts[1] == parts[3].prefix(2), parts[2] == parts[3].dropFirst(2).prefix(2)
        else { return nil }
        return String(parts[3])
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (97...102).contains(byte)
    }
}

/// SHA-256 fed piece by piece, for hashing a file while it is copied (the Crypto module's, given
/// to the adapters that need it: Domain and Persistence do not link OpenSSL).
public protocol StreamingDigest: AnyObject {
    func update(_ bytes: UnsafeRawBufferPointer) throws
    /// The digest; the object is spent afterwards.
    func finish() throws -> [UInt8]
}

extension BlobStore {
    public func scratchPath(for generation: UUID) throws -> String {
        try scratchDirectory(for: generation)
    }
}

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
/// the store, never from user input.
public protocol BlobStore: Sendable {
    /// Moves or copies the file at `path` into the store, durably, before returning. Streams: the
    /// file is never read whole into memory.
    func put(fileAt path: String) throws -> StoredBlob
    func put(_ data: Data) throws -> StoredBlob
    /// The stored bytes, or nil for an unknown key. Small blobs only (provider outputs, text).
    func read(_ key: String) throws -> Data?
    func delete(_ key: String) throws
    /// A scratch folder for a provider to write one generation's outputs into (or an upload to be
    /// received into); removed by the caller.
    func scratchDirectory(for generation: UUID) throws -> String
    /// Removes that folder and whatever is left in it.
    func delete(scratchOf generation: UUID) throws
    /// nil for an unknown key.
    func reader(_ key: String) throws -> (any BlobReader)?
    /// A URL that fetches the blob without this server, or nil where the store has none (local files).
    func presignedURL(_ key: String, expiresInSeconds: Int, contentType: String, contentDisposition: String) throws -> String?
    func exists(_ key: String) throws -> Bool
    /// Every stored blob key, for `storage gc`.
    func keys() throws -> [String]
}

/// SHA-256 fed piece by piece, for hashing a file while it is copied (the Crypto module's, given
/// to the adapters that need it: Domain and Persistence do not link OpenSSL).
public protocol StreamingDigest: AnyObject {
    func update(_ bytes: UnsafeRawBufferPointer) throws
    /// The digest; the object is spent afterwards.
    func finish() throws -> [UInt8]
}

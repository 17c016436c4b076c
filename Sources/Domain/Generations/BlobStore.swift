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

/// The storage port: local files now, S3 later (issue #17). Keys are made by the store, never
/// from user input.
public protocol BlobStore: Sendable {
    /// Moves or copies the file at `path` into the store, durably, before returning.
    func put(fileAt path: String) throws -> StoredBlob
    func put(_ data: Data) throws -> StoredBlob
    /// The stored bytes, or nil for an unknown key.
    func read(_ key: String) throws -> Data?
    func delete(_ key: String) throws
    /// A scratch folder for a provider to write one generation's outputs into; removed by the caller.
    func scratchDirectory(for generation: UUID) throws -> String
    /// Removes that folder and whatever is left in it.
    func delete(scratchOf generation: UUID) throws
}

import Domain
import Foundation

/// `BlobStore` on the local file system, content-addressed: a blob's key is `sha256/ab/cd/<hex>`,
/// derived from its bytes only, so no user input ever becomes a path. Each blob is written to a
/// temporary file, synced and renamed into place before `put` returns, so a row that names it
/// (committed afterwards) never points at a partial file.
public struct LocalBlobStore: BlobStore {
    public let root: URL
    /// SHA-256 of the bytes (the Crypto module's; Persistence does not link it).
    let digest: @Sendable (Data) throws -> [UInt8]

    public init(root: String, digest: @escaping @Sendable (Data) throws -> [UInt8]) throws {
        self.root = URL(fileURLWithPath: root, isDirectory: true).standardizedFileURL
        self.digest = digest
        for folder in ["sha256", "tmp", "scratch"] {
            try FileManager.default.createDirectory(at: self.root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
    }

    public func put(fileAt path: String) throws -> StoredBlob {
        try put(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    public func put(_ data: Data) throws -> StoredBlob {
        let hex = try digest(data).map { String(format: "%02x", $0) }.joined()
        let key = Self.key(forHex: hex)
        let destination = root.appendingPathComponent(key)
        let blob = StoredBlob(key: key, sha256: hex, bytes: Int64(data.count))
        if FileManager.default.fileExists(atPath: destination.path) { return blob }
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = root.appendingPathComponent("tmp").appendingPathComponent(UUID().uuidString.lowercased())
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else { throw BlobStoreError.cannotWrite(key) }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        // rename(2) is atomic; an identical blob written meanwhile by another writer is the same bytes.
        guard rename(temporary.path, destination.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw BlobStoreError.cannotWrite(key)
        }
        Self.syncDirectory(destination.deletingLastPathComponent().path)
        return blob
    }

    public func read(_ key: String) throws -> Data? {
        guard let url = url(for: key) else { return nil }
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try Data(contentsOf: url)
    }

    public func delete(_ key: String) throws {
        guard let url = url(for: key) else { return }
        try? FileManager.default.removeItem(at: url)
    }

    public func scratchDirectory(for generation: UUID) throws -> String {
        let folder = root.appendingPathComponent("scratch").appendingPathComponent(generation.uuidString.lowercased())
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.path
    }

    public func delete(scratchOf generation: UUID) throws {
        let folder = root.appendingPathComponent("scratch").appendingPathComponent(generation.uuidString.lowercased())
        if FileManager.default.fileExists(atPath: folder.path) { try FileManager.default.removeItem(at: folder) }
    }

    static func key(forHex hex: String) -> String {
        "sha256/\(hex.prefix(2))/\(hex.dropFirst(2).prefix(2))/\(hex)"
    }

    /// Only keys of the store's own shape map to a file: anything else (a key from elsewhere,
    /// `..`) maps to nothing.
    func url(for key: String) -> URL? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "sha256", parts[3].count == 64,
              parts[3].allSatisfy({ $0.isHexDigit && !$0.isUppercase }), parts[1] == parts[3].prefix(2),
              parts[2] == parts[3].dropFirst(2).prefix(2)
        else { return nil }
        return root.appendingPathComponent(key)
    }

    private static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}

public enum BlobStoreError: Error, Equatable {
    case cannotWrite(String)
}

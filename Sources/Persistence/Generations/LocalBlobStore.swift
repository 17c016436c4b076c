import Domain
import Foundation

/// `BlobStore` on the local file system, content-addressed per user: a blob's key is
/// `users/<owner>/sha256/ab/cd/<hex>` (`BlobKey`), derived from the owner's id and the bytes
/// only, so no user input ever becomes a path. Each blob is written to a
/// temporary file, synced and renamed into place before `put` returns, so a row that names it
/// (committed afterwards) never points at a partial file.
public struct LocalBlobStore: BlobStore {
    public let root: URL
    /// `root.path`, read once (`path(_:)` joins it on every generation).
    let rootPath: String
    /// SHA-256 of the bytes (the Crypto module's; Persistence does not link it).
    let digest: @Sendable (Data) throws -> [UInt8]
    /// The same, fed piece by piece: files are hashed while they are copied, never read whole.
    let streamingDigest: @Sendable () throws -> any StreamingDigest

    /// Bytes per read or write when a file is copied or hashed.
    public static let chunkBytes = 1 << 20

    public init(root: String, digest: @escaping @Sendable (Data) throws -> [UInt8],
                streamingDigest: @escaping @Sendable () throws -> any StreamingDigest) throws {
        self.root = URL(fileURLWithPath: root, isDirectory: true).standardizedFileURL
        rootPath = self.root.path
        self.digest = digest
        self.streamingDigest = streamingDigest
        for folder in ["users", "tmp", "scratch"] {
            try FileManager.default.createDirectory(at: self.root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
    }

    /// A file in the store's own scratch area (same file system) is hashed in place and renamed;
    /// any other file is copied into `tmp` while it is hashed. Either way it is synced first.
    public func put(fileAt path: String, owner: UUID) throws -> StoredBlob {
        let source = URL(fileURLWithPath: path).standardizedFileURL
        let inScratch = source.path.hasPrefix(root.appendingPathComponent("scratch").path + "/")
        let input = open(source.path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw BlobStoreError.cannotRead(path) }
        defer { close(input) }
        let hasher = try streamingDigest()
        var staged: URL?
        var output: Int32 = -1
        if inScratch {
            staged = source
        } else {
            let temporary = root.appendingPathComponent("tmp").appendingPathComponent(UUID().lowercasedString)
            output = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard output >= 0 else { throw BlobStoreError.cannotWrite(temporary.lastPathComponent) }
            staged = temporary
        }
        defer { if output >= 0 { close(output) } }
        var total: Int64 = 0
        do {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkBytes, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let count = Glibc.read(input, buffer.baseAddress, buffer.count)
                if count < 0, errno == EINTR { continue }
                guard count >= 0 else { throw BlobStoreError.cannotRead(path) }
                if count == 0 { break }
                let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                try hasher.update(piece)
                if output >= 0 { try Self.writeAll(output, piece) }
                total += Int64(count)
            }
            try Self.sync(output >= 0 ? output : input)
        } catch {
            if !inScratch, let staged { try? FileManager.default.removeItem(at: staged) }
            throw error
        }
        let hex = Hex.encode(try hasher.finish())
        guard let staged else { throw BlobStoreError.cannotWrite(path) }
        return try place(staged, key: BlobKey.make(owner: owner, hex: hex), hex: hex, bytes: total)
    }

    public func put(_ data: Data, owner: UUID) throws -> StoredBlob {
        let hex = Hex.encode(try digest(data))
        let key = BlobKey.make(owner: owner, hex: hex)
        let blob = StoredBlob(key: key, sha256: hex, bytes: Int64(data.count))
        if FileManager.default.fileExists(atPath: path(key)) { return blob }
        let temporary = root.appendingPathComponent("tmp").appendingPathComponent(UUID().lowercasedString)
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
        return try place(temporary, key: key, hex: hex, bytes: Int64(data.count))
    }

    /// Renames a synced file to its key's path (atomic); an identical blob already there is the same bytes.
    private func place(_ staged: URL, key: String, hex: String, bytes: Int64) throws -> StoredBlob {
        let destination = root.appendingPathComponent(key)
        let blob = StoredBlob(key: key, sha256: hex, bytes: bytes)
        if FileManager.default.fileExists(atPath: destination.path) {
            try? FileManager.default.removeItem(at: staged)
            return blob
        }
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard rename(staged.path, destination.path) == 0 else {
            try? FileManager.default.removeItem(at: staged)
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

    public func reader(_ key: String) throws -> (any BlobReader)? {
        guard let url = url(for: key) else { return nil }
        return LocalBlobReader(path: url.path)
    }

    /// Local files have no URL of their own: the API signs its own content URLs.
    public func presignedURL(_ key: String, expiresInSeconds: Int, contentType: String, contentDisposition: String) throws -> String? {
        nil
    }

    public func exists(_ key: String) throws -> Bool {
        guard let url = url(for: key) else { return false }
        return FileManager.default.fileExists(atPath: url.path)
    }

    public func keys() throws -> [String] {
        walk(BlobKey.usersPrefix) { BlobKey.parse($0) != nil }
    }

    public func keys(owner: UUID) throws -> [String] {
        walk(BlobKey.usersPrefix + owner.lowercasedString + "/") { BlobKey.parse($0)?.owner == owner }
    }

    public func legacyKeys() throws -> [String] {
        walk(BlobKey.legacyPrefix) { BlobKey.parseLegacy($0) != nil }
    }

    /// A hard link: the same file under the owner's key, no bytes copied (the root is one file
    /// system). A copy synced and renamed into place where links are not supported.
    public func copyLegacy(_ legacyKey: String, to owner: UUID) throws -> String? {
        guard let hex = BlobKey.parseLegacy(legacyKey) else { return nil }
        let source = root.appendingPathComponent(legacyKey)
        guard FileManager.default.fileExists(atPath: source.path) else { return nil }
        let key = BlobKey.make(owner: owner, hex: hex)
        let destination = root.appendingPathComponent(key)
        if FileManager.default.fileExists(atPath: destination.path) { return key }
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        if link(source.path, destination.path) != 0, errno != EEXIST {
            let temporary = root.appendingPathComponent("tmp").appendingPathComponent(UUID().lowercasedString)
            try FileManager.default.copyItem(at: source, to: temporary)
            let descriptor = open(temporary.path, O_RDONLY | O_CLOEXEC)
            if descriptor >= 0 {
                defer { close(descriptor) }
                try Self.sync(descriptor)
            }
            guard rename(temporary.path, destination.path) == 0 else {
                try? FileManager.default.removeItem(at: temporary)
                throw BlobStoreError.cannotWrite(key)
            }
        }
        Self.syncDirectory(destination.deletingLastPathComponent().path)
        return key
    }

    /// Legacy keys too: the one-time move removes them once every row names its owner's copy.
    public func delete(_ key: String) throws {
        guard let url = url(for: key) ?? (BlobKey.parseLegacy(key) != nil ? root.appendingPathComponent(key) : nil) else { return }
        try? FileManager.default.removeItem(at: url)
    }

    /// The keys under one top folder that `accepts` (files of any other shape are not the store's).
    private func walk(_ prefix: String, accepts: (String) -> Bool) -> [String] {
        let base = root.appendingPathComponent(String(prefix.dropLast()))
        // A missing folder holds no keys. Asked first, without FileManager: the server's start-up asks
        // for the legacy layout's keys (LegacyBlobMove), which almost never exists, and the
        // enumerator's error path paged in Foundation's NSError code for it (BENCHMARKS.md, "Footprint").
        var status = stat()
        guard stat(base.path, &status) == 0 else { return [] }
        guard let walker = FileManager.default.enumerator(atPath: base.path) else { return [] }
        var found: [String] = []
        while let relative = walker.nextObject() as? String {
            let key = prefix + relative
            if accepts(key) { found.append(key) }
        }
        return found.sorted()
    }

    public func scratchDirectory(for generation: UUID) throws -> String {
        try ScratchFolders(root: root).create(for: generation)
    }

    public func scratchPath(for generation: UUID) throws -> String {
        path("scratch/" + generation.lowercasedString)
    }

    public func delete(scratchOf generation: UUID) throws {
        let folder = try scratchPath(for: generation)
        if FileManager.default.fileExists(atPath: folder) { try FileManager.default.removeItem(atPath: folder) }
    }

    /// The path of `relative` (slash-separated, no `.` or `..` parts) under the root: the path
    /// `root.appendingPathComponent(relative).path` names, joined as text. `appendingPathComponent`
    /// asks the file system whether the result is a directory (a `stat` per call, each time a
    /// generation is run, ended or stores its text), only to drop the answer in `.path`.
    func path(_ relative: String) -> String {
        rootPath.hasSuffix("/") ? rootPath + relative : rootPath + "/" + relative
    }

    /// Only keys of the store's own per-user shape map to a file: anything else (a key from
    /// elsewhere, `..`, a legacy key) maps to nothing.
    func url(for key: String) -> URL? {
        guard BlobKey.parse(key) != nil else { return nil }
        return root.appendingPathComponent(key)
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw BlobStoreError.cannotWrite("write failed: errno \(errno)") }
            offset += written
        }
    }

    private static func sync(_ descriptor: Int32) throws {
        guard fsync(descriptor) == 0 else { throw BlobStoreError.cannotWrite("fsync failed: errno \(errno)") }
    }

    private static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}

/// A local blob read with `pread`: any thread, any offset, one descriptor held while it lives.
final class LocalBlobReader: BlobReader, @unchecked Sendable {
    // The descriptor never changes after init and pread has no shared file position.
    private let descriptor: Int32
    let size: Int64

    init?(path: String) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
        self.size = Int64(status.st_size)
    }

    deinit { close(descriptor) }

    func read(offset: Int64, count: Int) throws -> Data {
        guard offset >= 0, count >= 0 else { throw BlobStoreError.cannotRead("negative range") }
        let wanted = Int(max(0, min(Int64(count), size - offset)))
        guard wanted > 0 else { return Data() }
        var data = Data(count: wanted)
        var filled = 0
        try data.withUnsafeMutableBytes { buffer in
            while filled < wanted {
                let got = pread(descriptor, buffer.baseAddress.map { $0 + filled }, wanted - filled, off_t(offset) + off_t(filled))
                if got < 0, errno == EINTR { continue }
                guard got > 0 else { throw BlobStoreError.cannotRead("pread failed: errno \(errno)") }
                filled += got
            }
        }
        return data
    }
}

public enum BlobStoreError: Error, Equatable {
    case cannotWrite(String)
    case cannotRead(String)
}

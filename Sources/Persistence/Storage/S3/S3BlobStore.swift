import Domain
import Foundation

/// `BlobStore` on S3-compatible object storage, content-addressed exactly as `LocalBlobStore`:
/// a blob's key is `users/<owner>/sha256/ab/cd/<hex>` (`BlobKey`), never anything a user sent,
/// and one user's identical content is one object. Every request is SigV4-signed (header authentication, the payload's
/// SHA-256 signed too, so the service rejects a body that changed on the way).
///
/// Blocking: every method performs network I/O on the calling thread and may take as long as
/// the upload does (retries included). The engine calls it on its provider work queue; it must
/// never be called on an HTTP thread.
public struct S3BlobStore: BlobStore {
    public let settings: S3Settings
    let requester: S3Requester
    let primitives: SigV4Primitives
    /// Provider scratch folders stay on the local disk; only finished blobs go to S3.
    let scratchRoot: URL

    public init(settings: S3Settings, primitives: SigV4Primitives, scratchDirectory: String,
                now: @escaping @Sendable () -> Date = { Date() },
                sleep: @escaping @Sendable (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }) throws {
        let settings = settings.clamped
        self.settings = settings
        self.primitives = primitives
        self.scratchRoot = URL(fileURLWithPath: scratchDirectory, isDirectory: true).standardizedFileURL
        let signer = SigV4Signer(credentials: settings.credentials, region: settings.region, service: "s3",
                                 normalizesPath: false, primitives: primitives)
        self.requester = S3Requester(settings: settings, signer: signer,
                                     transport: S3Transport(connectTimeoutSeconds: settings.connectTimeoutSeconds,
                                                            requestTimeoutSeconds: settings.requestTimeoutSeconds),
                                     now: now, sleep: sleep)
        try FileManager.default.createDirectory(at: scratchRoot, withIntermediateDirectories: true)
    }

    public func put(fileAt path: String, owner: UUID) throws -> StoredBlob {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        guard let size = (attributes[.size] as? NSNumber)?.int64Value, size >= 0 else {
            throw S3StoreError.invalidArgument("cannot read the size of \(path)")
        }
        let hex = Hex.encode(try primitives.sha256OfFile(path))
        let blob = StoredBlob(key: BlobKey.make(owner: owner, hex: hex), sha256: hex, bytes: size)
        if try exists(blob.key) { return blob }
        if size <= settings.singlePutLimit {
            try putObject(blob, body: .file(path: path, offset: 0, length: size))
        } else {
            try multipartUpload(blob) { offset, length in
                let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
                defer { try? handle.close() }
                try handle.seek(toOffset: UInt64(offset))
                let data = try handle.read(upToCount: length) ?? Data()
                guard data.count == length else {
                    throw S3StoreError.invalidArgument("\(path) became shorter during the upload")
                }
                return data
            }
        }
        return blob
    }

    public func put(_ data: Data, owner: UUID) throws -> StoredBlob {
        let hex = Hex.encode(try primitives.sha256(data))
        let blob = StoredBlob(key: BlobKey.make(owner: owner, hex: hex), sha256: hex, bytes: Int64(data.count))
        if try exists(blob.key) { return blob }
        if blob.bytes <= settings.singlePutLimit {
            try putObject(blob, body: .data(data))
        } else {
            try multipartUpload(blob) { offset, length in
                let start = data.startIndex + Int(offset)
                return Data(data[start..<(start + length)])
            }
        }
        return blob
    }

    public func read(_ key: String) throws -> Data? {
        guard let reader = try reader(key) else { return nil }
        guard reader.size <= settings.maxInMemoryReadBytes else {
            throw S3StoreError.objectTooLarge(key: key, bytes: reader.size, limit: settings.maxInMemoryReadBytes)
        }
        let response = try requester.send("GET \(key)", method: "GET", key: key, payloadHash: Self.emptyPayloadHash,
                                          accepting: [404], maxResponseBytes: Int(settings.maxInMemoryReadBytes))
        return response.status == 404 ? nil : response.body
    }

    /// Deleting a missing object succeeds (S3 answers 204 either way). Legacy keys too: the
    /// one-time move removes them once every row names its owner's copy.
    public func delete(_ key: String) throws {
        guard S3ObjectKey.isValid(key) || BlobKey.parseLegacy(key) != nil else { return }
        _ = try requester.send("DELETE \(key)", method: "DELETE", key: key, payloadHash: Self.emptyPayloadHash, accepting: [404])
    }

    public func scratchDirectory(for generation: UUID) throws -> String {
        try ScratchFolders(root: scratchRoot).create(for: generation)
    }

    public func scratchPath(for generation: UUID) throws -> String {
        ScratchFolders(root: scratchRoot).path(for: generation)
    }

    public func delete(scratchOf generation: UUID) throws {
        try ScratchFolders(root: scratchRoot).delete(for: generation)
    }

    /// One PUT; the signed `x-amz-content-sha256` is the blob's own hash, so S3 stores exactly
    /// the bytes that were hashed or refuses (`XAmzContentSHA256Mismatch`).
    private func putObject(_ blob: StoredBlob, body: S3Body) throws {
        _ = try requester.send("PUT \(blob.key)", method: "PUT", key: blob.key,
                               headers: [(name: "content-type", value: "application/octet-stream")],
                               body: body, payloadHash: blob.sha256)
    }

    /// SHA-256 of no bytes: the payload hash of GET, HEAD and DELETE.
    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}

/// The store's key layout, the same as `LocalBlobStore`'s (`BlobKey`).
enum S3ObjectKey {
    /// Only keys of the store's own per-user shape are read from S3: anything else names nothing.
    static func isValid(_ key: String) -> Bool {
        BlobKey.parse(key) != nil
    }
}

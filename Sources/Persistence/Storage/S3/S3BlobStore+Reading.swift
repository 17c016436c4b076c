import Domain
import Foundation

/// Reading without holding an object in memory, presigned downloads, and listing (the orphan
/// sweep). Same blocking rule as the store: call from a worker thread, never an HTTP thread.
extension S3BlobStore {
    /// S3 lets a presigned URL live at most seven days.
    public static let maximumPresignSeconds = 604_800
    /// No object this store writes can be larger (S3's own limit is 5 TiB).
    static let maximumObjectBytes: Int64 = 5 << 40

    /// HEAD for the size; the reader then fetches ranges. nil when the object is missing or the
    /// key is not one of the store's.
    public func reader(_ key: String) throws -> (any BlobReader)? {
        guard S3ObjectKey.isValid(key) else { return nil }
        let operation = "HEAD \(key)"
        let response = try requester.send(operation, method: "HEAD", key: key, payloadHash: Self.emptyPayloadHash, accepting: [404])
        if response.status == 404 { return nil }
        guard let text = response.header("content-length"), let size = Int64(text), (0...Self.maximumObjectBytes).contains(size) else {
            throw S3StoreError.invalidResponse(operation: operation, detail: "no usable Content-Length")
        }
        return S3ObjectReader(key: key, size: size, requester: requester)
    }

    /// A presigned GET, signed here without a network call (so it does not tell whether the
    /// object exists). S3 answers it with the given `Content-Type` and `Content-Disposition`,
    /// which the signature covers. nil for a key that is not one of the store's.
    public func presignedURL(_ key: String, expiresInSeconds: Int, contentType: String, contentDisposition: String) throws -> String? {
        guard S3ObjectKey.isValid(key) else { return nil }
        guard (1...Self.maximumPresignSeconds).contains(expiresInSeconds) else {
            throw S3StoreError.invalidArgument("a presigned URL expires after 1 to \(Self.maximumPresignSeconds) seconds (got \(expiresInSeconds))")
        }
        for (name, value) in [("content type", contentType), ("content disposition", contentDisposition)] {
            guard (1...1024).contains(value.utf8.count), value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
                throw S3StoreError.invalidArgument("the \(name) must be 1-1024 bytes without control characters")
            }
        }
        return try requester.presignedURL(method: "GET", key: key, expiresInSeconds: expiresInSeconds,
                                          query: [(name: "response-content-disposition", value: contentDisposition),
                                                  (name: "response-content-type", value: contentType)],
                                          at: requester.now())
    }

    public func exists(_ key: String) throws -> Bool {
        guard S3ObjectKey.isValid(key) else { return false }
        let response = try requester.send("HEAD \(key)", method: "HEAD", key: key, payloadHash: Self.emptyPayloadHash, accepting: [404])
        return response.status != 404
    }

    /// Every key of the store's shape in the bucket (ListObjectsV2 under `users/`, page by
    /// page); other objects in the bucket are left out.
    public func keys() throws -> [String] {
        try list(prefix: BlobKey.usersPrefix, accepts: S3ObjectKey.isValid)
    }

    public func keys(owner: UUID) throws -> [String] {
        try list(prefix: BlobKey.usersPrefix + owner.lowercasedString + "/") { BlobKey.parse($0)?.owner == owner }
    }

    public func legacyKeys() throws -> [String] {
        try list(prefix: BlobKey.legacyPrefix) { BlobKey.parseLegacy($0) != nil }
    }

    /// A server-side CopyObject (no bytes pass through this server; objects here are far below
    /// CopyObject's 5 GB limit). S3 may answer 200 with an error document, so the body must be
    /// a CopyObjectResult.
    public func copyLegacy(_ legacyKey: String, to owner: UUID) throws -> String? {
        guard let hex = BlobKey.parseLegacy(legacyKey) else { return nil }
        let key = BlobKey.make(owner: owner, hex: hex)
        let operation = "CopyObject \(legacyKey) to \(key)"
        let response = try requester.send(operation, method: "PUT", key: key,
                                          headers: [(name: "x-amz-copy-source", value: "/\(settings.bucket)/\(legacyKey)")],
                                          payloadHash: Self.emptyPayloadHash, accepting: [404])
        if response.status == 404 { return nil }
        guard String(decoding: response.body, as: UTF8.self).contains("<CopyObjectResult") else {
            throw S3StoreError.invalidResponse(operation: operation, detail: "not a CopyObjectResult")
        }
        return key
    }

    private func list(prefix: String, accepts: (String) -> Bool) throws -> [String] {
        let pageSize = settings.listPageSize
        var keys: [String] = []
        var token: String?
        var pages = 0
        repeat {
            pages += 1
            let operation = "ListObjectsV2 page \(pages)"
            guard pages <= Self.maximumListPages else {
                throw S3StoreError.invalidResponse(operation: operation, detail: "more than \(Self.maximumListPages) pages")
            }
            var query = [(name: "list-type", value: "2"), (name: "prefix", value: prefix), (name: "max-keys", value: String(pageSize))]
            if let token { query.append((name: "continuation-token", value: token)) }
            let response = try requester.send(operation, method: "GET", key: nil, query: query,
                                              payloadHash: Self.emptyPayloadHash, maxResponseBytes: 8 << 20)
            let text = String(decoding: response.body, as: UTF8.self)
            guard text.contains("<ListBucketResult") else {
                throw S3StoreError.invalidResponse(operation: operation, detail: "not a ListBucketResult")
            }
            let contents = S3XML.blocks("Contents", in: text)
            guard contents.count <= pageSize else {
                throw S3StoreError.invalidResponse(operation: operation, detail: "\(contents.count) keys in one page (asked for \(pageSize))")
            }
            keys += contents.compactMap { S3XML.first("Key", in: $0) }.filter(accepts)
            let truncated = S3XML.first("IsTruncated", in: text) == "true"
            let next = S3XML.first("NextContinuationToken", in: text)
            if truncated {
                guard let next, (1...4096).contains(next.utf8.count), next != token else {
                    throw S3StoreError.invalidResponse(operation: operation, detail: "truncated without a new continuation token")
                }
            }
            token = truncated ? next : nil
        } while token != nil
        return keys
    }

    /// 100,000 pages of 1,000 keys: far beyond any bucket this store fills, and a stop for a
    /// server that never ends its listing.
    static let maximumListPages = 100_000
}

/// Ranged reads of one object, for streaming responses and `Range` requests. `size` is the
/// object's length when it was opened.
public struct S3ObjectReader: BlobReader {
    public let key: String
    public let size: Int64
    let requester: S3Requester

    /// One GET with `Range: bytes=offset-(offset+count-1)`. At most 64 MiB a call, clamped to
    /// the object's end; an empty Data at or past the end.
    public static let maximumReadBytes = 64 << 20

    public func read(offset: Int64, count: Int) throws -> Data {
        guard offset >= 0, count >= 0 else {
            throw S3StoreError.invalidArgument("a read needs a non-negative offset and count (got \(offset), \(count))")
        }
        guard offset < size, count > 0 else { return Data() }
        let length = Int(min(Int64(min(count, Self.maximumReadBytes)), size - offset))
        let operation = "GET \(key) bytes \(offset)-\(offset + Int64(length) - 1)"
        let response = try requester.send(operation, method: "GET", key: key,
                                          headers: [(name: "range", value: "bytes=\(offset)-\(offset + Int64(length) - 1)")],
                                          payloadHash: S3BlobStore.emptyPayloadHash, maxResponseBytes: max(length, 64 * 1024))
        // 206 with the range; a server that ignores ranges answers 200 with everything, which is
        // only the asked bytes when the range was the whole object.
        guard response.status == 206 || (response.status == 200 && offset == 0 && Int64(length) == size),
              response.body.count == length else {
            throw S3StoreError.invalidResponse(operation: operation,
                                               detail: "HTTP \(response.status) with \(response.body.count) bytes for a \(length)-byte range (the object changed?)")
        }
        return response.body
    }
}

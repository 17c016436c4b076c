import Crypto
import Domain
import Foundation
@testable import Persistence
import TestSupport
import XCTest

/// The S3 adapter end to end against moto's S3 server on loopback (see S3MotoServer for how it
/// is started): every request below is a real signed HTTP request through libcurl.
final class S3BlobStoreTests: XCTestCase {
    private var scratch = ""

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("s3-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private func makeStore(addressing: S3Addressing = .path, configure: (inout S3Settings) -> Void = { _ in }) throws -> S3BlobStore {
        let server = try S3MotoServer.shared()
        let bucket = "mw-\(UUID().uuidString.lowercased().prefix(18))"
        try server.createBucket(bucket)
        var settings = try server.settings(bucket: bucket, addressing: addressing)
        configure(&settings)
        return try S3BlobStore(settings: settings, primitives: .crypto, scratchDirectory: scratch)
    }

    private func writeFile(_ data: Data) throws -> String {
        let path = scratch + "/input-\(UUID().uuidString)"
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    private static func randomData(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        var words = [UInt64](repeating: 0, count: (count + 7) / 8)
        for index in words.indices { words[index] = generator.next() }
        return words.withUnsafeBytes { Data($0.prefix(count)) }
    }

    func testPutReadExistsAndDeleteRoundTrip() throws {
        let store = try makeStore()
        let blob = try store.put(Data("hello, bucket".utf8), owner: blobOwner)
        XCTAssertEqual(blob.sha256, Hex.encode(try SHA256.hash(Data("hello, bucket".utf8))))
        XCTAssertEqual(blob.key, "users/\(blobOwner.uuidString.lowercased())/sha256/\(blob.sha256.prefix(2))/\(blob.sha256.dropFirst(2).prefix(2))/\(blob.sha256)")
        XCTAssertEqual(blob.bytes, 13)
        XCTAssertTrue(try store.exists(blob.key))
        XCTAssertEqual(try store.read(blob.key), Data("hello, bucket".utf8))
        XCTAssertEqual(try store.reader(blob.key)?.size, 13)
        try store.delete(blob.key)
        XCTAssertFalse(try store.exists(blob.key))
        XCTAssertNil(try store.read(blob.key))
    }

    func testKeysAreLaidOutExactlyAsTheLocalStoreLaysThemOut() throws {
        let store = try makeStore()
        let local = try LocalBlobStore(root: scratch + "/local", digest: { try SHA256.hash($0) }, streamingDigest: { try SHA256Stream() })
        let data = Data("same layout".utf8)
        XCTAssertEqual(try store.put(data, owner: blobOwner), try local.put(data, owner: blobOwner))
    }

    func testSameContentIsStoredOnceWhetherFromBytesOrAFile() throws {
        let store = try makeStore()
        let data = Self.randomData(40_000)
        let first = try store.put(data, owner: blobOwner)
        let second = try store.put(data, owner: blobOwner)
        let fromFile = try store.put(fileAt: try writeFile(data), owner: blobOwner)
        XCTAssertEqual(first, second)
        XCTAssertEqual(first, fromFile)
        let other = try store.put(Data("different".utf8), owner: blobOwner)
        XCTAssertEqual(try store.keys().sorted(), [first.key, other.key].sorted(), "one object per distinct content")
    }

    func testFileAtOrBelowTheThresholdGoesUpInOnePut() throws {
        let store = try makeStore { $0.singlePutLimit = 1 << 20 }
        let data = Self.randomData(1 << 20)
        let blob = try store.put(fileAt: try writeFile(data), owner: blobOwner)
        let etag = try headETag(store, blob.key)
        XCTAssertFalse(etag.contains("-"), "a single PUT's ETag has no part count (got \(etag))")
        XCTAssertEqual(try store.read(blob.key), data)
    }

    func testFileAboveTheThresholdGoesUpInPartsAndReadsBackByRanges() throws {
        let store = try makeStore { $0.singlePutLimit = 1 << 20 }
        XCTAssertEqual(store.settings.partSize, 8 << 20)
        let data = Self.randomData((8 << 20) * 2 + 12_345)
        let blob = try store.put(fileAt: try writeFile(data), owner: blobOwner)
        XCTAssertEqual(blob.bytes, Int64(data.count))
        let etag = try headETag(store, blob.key)
        XCTAssertTrue(etag.hasSuffix("-3\""), "a three-part upload's ETag ends in -3 (got \(etag))")
        let reader = try XCTUnwrap(try store.reader(blob.key))
        XCTAssertEqual(reader.size, Int64(data.count))
        var assembled = Data()
        while Int64(assembled.count) < reader.size {
            let chunk = try reader.read(offset: Int64(assembled.count), count: 5 << 20)
            XCTAssertFalse(chunk.isEmpty)
            if chunk.isEmpty { break }
            assembled.append(chunk)
        }
        XCTAssertEqual(assembled, data)
        XCTAssertEqual(try reader.read(offset: reader.size - 5, count: 100), data.suffix(5), "a read past the end is clamped")
        XCTAssertEqual(try reader.read(offset: reader.size, count: 10), Data(), "nothing at the end")
        XCTAssertThrowsError(try reader.read(offset: -1, count: 10))
        let uploads = try listMultipartUploads(store)
        XCTAssertFalse(uploads.contains("<UploadId>"), "the finished upload is not left open")
    }

    func testBytesAboveTheThresholdAlsoGoUpInParts() throws {
        let store = try makeStore { $0.singlePutLimit = 1 << 20; $0.partSize = 5 << 20 }
        let data = Self.randomData((5 << 20) + 10)
        let blob = try store.put(data, owner: blobOwner)
        XCTAssertTrue(try headETag(store, blob.key).hasSuffix("-2\""))
        XCTAssertEqual(try store.read(blob.key), data)
    }

    func testAFailedPartAbortsTheUpload() throws {
        let store = try makeStore { $0.singlePutLimit = 1 << 20; $0.partSize = 5 << 20 }
        let path = try writeFile(Self.randomData((5 << 20) + 10))
        let blob = StoredBlob(key: BlobKey.make(owner: blobOwner, hex: String(repeating: "ab", count: 32)), sha256: String(repeating: "ab", count: 32),
                              bytes: (5 << 20) + 10)
        var calls = 0
        XCTAssertThrowsError(try store.multipartUpload(blob) { offset, length in
            calls += 1
            if calls == 2 { throw S3StoreError.invalidArgument("the source went away") }
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(offset))
            return try handle.read(upToCount: length) ?? Data()
        }) { error in
            XCTAssertEqual(error as? S3StoreError, .invalidArgument("the source went away"))
        }
        XCTAssertEqual(calls, 2)
        XCTAssertFalse(try listMultipartUploads(store).contains("<UploadId>"), "the upload was aborted, no parts kept")
        XCTAssertFalse(try store.exists(blob.key))
    }

    func testMissingObjectsAndForeignKeysAreNil() throws {
        let store = try makeStore()
        let missing = BlobKey.make(owner: blobOwner, hex: String(repeating: "0f", count: 32))
        XCTAssertNil(try store.read(missing))
        XCTAssertNil(try store.reader(missing))
        XCTAssertFalse(try store.exists(missing))
        XCTAssertNoThrow(try store.delete(missing))
        for foreign in ["../etc/passwd", "sha256/00/00/abc", "sha256/ab/cd/" + String(repeating: "A", count: 64), ""] {
            XCTAssertNil(try store.read(foreign))
            XCTAssertNil(try store.reader(foreign))
            XCTAssertNil(try store.presignedURL(foreign, expiresInSeconds: 60, contentType: "text/plain", contentDisposition: "inline"))
        }
    }

    func testVirtualHostStyleRequestsPutTheBucketInTheHost() throws {
        let store = try makeStore(addressing: .virtual)
        let blob = try store.put(Data("virtual".utf8), owner: blobOwner)
        XCTAssertEqual(try store.read(blob.key), Data("virtual".utf8))
        XCTAssertEqual(try store.keys(), [blob.key])
        let request = try store.requester.signedRequest(method: "GET", key: blob.key, payloadHash: S3BlobStore.emptyPayloadHash,
                                                        at: Date(), maxResponseBytes: 1)
        let port = try XCTUnwrap(store.settings.port)
        XCTAssertEqual(request.url, "http://\(store.settings.bucket).localhost:\(port)/\(blob.key)")
        XCTAssertEqual(request.headers.first { $0.name == "Host" }?.value, "\(store.settings.bucket).localhost:\(port)")
    }

    func testPathStyleRequestsPutTheBucketInThePath() throws {
        let store = try makeStore(addressing: .path)
        let key = BlobKey.make(owner: blobOwner, hex: String(repeating: "ab", count: 32))
        let request = try store.requester.signedRequest(method: "GET", key: key, payloadHash: S3BlobStore.emptyPayloadHash,
                                                        at: Date(), maxResponseBytes: 1)
        XCTAssertEqual(request.url, "\(try S3MotoServer.shared().endpoint)/\(store.settings.bucket)/\(key)")
        XCTAssertEqual(request.headers.first { $0.name == "Host" }?.value, String(try S3MotoServer.shared().endpoint.dropFirst(7)))
        let authorization = try XCTUnwrap(request.headers.first { $0.name == "Authorization" }?.value)
        XCTAssertTrue(authorization.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="), authorization)
    }

    func testListingFollowsContinuationTokens() throws {
        let store = try makeStore { $0.listPageSize = 2 }
        let expected = try (0..<5).map { try store.put(Data("item \($0)".utf8), owner: blobOwner).key }
        XCTAssertEqual(Set(expected).count, 5)
        XCTAssertEqual(try store.keys().sorted(), expected.sorted(), "three pages of at most two keys")
    }

    func testPresignedGetWorksWithPlainCurlAndSetsTheResponseHeaders() throws {
        let store = try makeStore()
        let blob = try store.put(Data("presigned body".utf8), owner: blobOwner)
        let url = try XCTUnwrap(try store.presignedURL(blob.key, expiresInSeconds: 300, contentType: "text/plain; charset=utf-8",
                                                       contentDisposition: "attachment; filename=\"note.txt\""))
        XCTAssertTrue(url.contains("X-Amz-Expires=300"))
        XCTAssertTrue(url.contains("X-Amz-SignedHeaders=host"))
        let (status, headers, body) = try curl(url)
        XCTAssertEqual(status, 200)
        XCTAssertEqual(body, "presigned body")
        XCTAssertTrue(headers.lowercased().contains("content-type: text/plain; charset=utf-8"), headers)
        XCTAssertTrue(headers.lowercased().contains("content-disposition: attachment; filename=\"note.txt\""), headers)
        XCTAssertThrowsError(try store.presignedURL(blob.key, expiresInSeconds: 604_801, contentType: "a/b", contentDisposition: "inline"))
        XCTAssertThrowsError(try store.presignedURL(blob.key, expiresInSeconds: 0, contentType: "a/b", contentDisposition: "inline"))
        XCTAssertThrowsError(try store.presignedURL(blob.key, expiresInSeconds: 60, contentType: "a/b\r\nx: y", contentDisposition: "inline"))
        XCTAssertNotNil(try store.presignedURL(blob.key, expiresInSeconds: 604_800, contentType: "a/b", contentDisposition: "inline"))
    }

    // MARK: - Helpers

    private func headETag(_ store: S3BlobStore, _ key: String) throws -> String {
        let response = try store.requester.send("HEAD", method: "HEAD", key: key, payloadHash: S3BlobStore.emptyPayloadHash)
        return try XCTUnwrap(response.header("etag"))
    }

    private func listMultipartUploads(_ store: S3BlobStore) throws -> String {
        let response = try store.requester.send("ListMultipartUploads", method: "GET", key: nil, query: [(name: "uploads", value: "")],
                                                payloadHash: S3BlobStore.emptyPayloadHash)
        return String(decoding: response.body, as: UTF8.self)
    }

    /// Plain curl, no credentials: status, response headers and body.
    private func curl(_ url: String) throws -> (Int, String, String) {
        let headersPath = scratch + "/headers-\(UUID().uuidString)", bodyPath = scratch + "/body-\(UUID().uuidString)"
        try ChildProcess.run("/usr/bin/curl", ["-sS", "-D", headersPath, "-o", bodyPath, url])
        let headers = try String(contentsOfFile: headersPath, encoding: .utf8)
        let status = Int(headers.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, headers, try String(contentsOfFile: bodyPath, encoding: .utf8))
    }
}

import Domain
import Foundation
@testable import Persistence
import XCTest

/// The user the blobs of these tests belong to (keys are per user, `BlobKey`).
let blobOwner = UUID()

/// The local-files storage port: content-addressed, durable before it answers, and no key that
/// did not come from the store reaches the file system.
final class LocalBlobStoreTests: XCTestCase {
    private var root = ""
    private var store: LocalBlobStore!

    /// A stand-in digest (Persistence does not link Crypto): distinct for distinct inputs here.
    static func digest(_ data: Data) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 32)
        for (index, byte) in data.enumerated() { bytes[index % 32] = bytes[index % 32] &* 31 &+ byte &+ UInt8(truncatingIfNeeded: index) }
        bytes[0] ^= UInt8(truncatingIfNeeded: data.count)
        return bytes
    }

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("blobs-\(UUID().uuidString)").path
        store = try LocalBlobStore(root: root, digest: { Self.digest($0) }, streamingDigest: { GatheringDigest(LocalBlobStoreTests.digest) })
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Paths are joined as text now; they must name what `appendingPathComponent` named.
    func testPathsAreTheOnesURLsNamedAndScratchFoldersComeAndGo() throws {
        let generation = UUID()
        let blob = try store.put(Data("paths".utf8), owner: blobOwner)
        for base in [root, root + "/", root + "/./"] {
            let copy = try LocalBlobStore(root: base, digest: { Self.digest($0) }, streamingDigest: { GatheringDigest(LocalBlobStoreTests.digest) })
            for relative in [blob.key, "scratch/" + generation.uuidString.lowercased(), "tmp", "users"] {
                XCTAssertEqual(copy.path(relative), copy.root.appendingPathComponent(relative).path, relative)
            }
        }
        XCTAssertEqual(try store.scratchPath(for: generation),
                       store.root.appendingPathComponent("scratch").appendingPathComponent(generation.uuidString.lowercased()).path)
        let folder = try store.scratchDirectory(for: generation)
        XCTAssertEqual(folder, try store.scratchPath(for: generation))
        XCTAssertTrue(FileManager.default.createFile(atPath: folder + "/part", contents: Data("x".utf8)))
        try store.delete(scratchOf: generation)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder))
        try store.delete(scratchOf: generation)
    }

    func testPutReadAndDeleteByContentAddress() throws {
        let blob = try store.put(Data("hello".utf8), owner: blobOwner)
        XCTAssertEqual(blob.bytes, 5)
        XCTAssertEqual(blob.sha256.count, 64)
        XCTAssertEqual(blob.key, "users/\(blobOwner.uuidString.lowercased())/sha256/\(blob.sha256.prefix(2))/\(blob.sha256.dropFirst(2).prefix(2))/\(blob.sha256)")
        XCTAssertEqual(try store.read(blob.key), Data("hello".utf8))
        XCTAssertEqual(try store.put(Data("hello".utf8), owner: blobOwner), blob, "the same bytes are the same blob")
        try store.delete(blob.key)
        XCTAssertNil(try store.read(blob.key))
        let temporary = try FileManager.default.contentsOfDirectory(atPath: root + "/tmp")
        XCTAssertEqual(temporary, [], "no temporary file is left behind")
    }

    func testAFileIsCopiedInAndTheScratchFolderRemoved() throws {
        let scratch = try store.scratchDirectory(for: UUID())
        let file = scratch + "/out.png"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: file))
        let blob = try store.put(fileAt: file, owner: blobOwner)
        XCTAssertEqual(try store.read(blob.key), Data([1, 2, 3]))
        let id = UUID()
        let folder = try store.scratchDirectory(for: id)
        try store.delete(scratchOf: id)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder))
    }

    func testKeysNotShapedByTheStoreReachNoFile() throws {
        try Data("secret".utf8).write(to: URL(fileURLWithPath: root + "/outside.txt"))
        let blob = try store.put(Data("x".utf8), owner: blobOwner)
        for key in ["../outside.txt", "/etc/passwd", "outside.txt", "sha256/../../outside.txt", "sha256/aa/bb/" + String(repeating: "a", count: 64),
                    blob.key.uppercased(), blob.key + "/..", "sha256/zz/zz/\(blob.sha256)"] {
            XCTAssertNil(try store.read(key), key)
        }
        try store.delete("../outside.txt")
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/outside.txt"), "delete ignores keys it did not make")
    }
}

/// The stand-in digest fed piece by piece: gathers the pieces, so a file hashes as its bytes do.
final class GatheringDigest: StreamingDigest {
    private var gathered = Data()
    private let digest: (Data) -> [UInt8]

    init(_ digest: @escaping (Data) -> [UInt8]) { self.digest = digest }

    func update(_ bytes: UnsafeRawBufferPointer) throws { gathered.append(contentsOf: bytes) }

    func finish() throws -> [UInt8] { digest(gathered) }
}

/// The port's piecewise reads, listing and file puts on local files.
final class LocalBlobStoreStreamingTests: XCTestCase {
    private var root = ""
    private var store: LocalBlobStore!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("blobs-\(UUID().uuidString)").path
        store = try LocalBlobStore(root: root, digest: { LocalBlobStoreTests.digest($0) },
                                   streamingDigest: { GatheringDigest(LocalBlobStoreTests.digest) })
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    func testAFilePutIsTheSameBlobAsItsBytesAndReadsBackInPieces() throws {
        let bytes = Data((0..<(3 * LocalBlobStore.chunkBytes + 17)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let outside = root + "-source"
        try bytes.write(to: URL(fileURLWithPath: outside))
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let fromFile = try store.put(fileAt: outside, owner: blobOwner)
        XCTAssertEqual(fromFile, try store.put(bytes, owner: blobOwner), "hashing while copying gives the same key as hashing the bytes")
        XCTAssertTrue(FileManager.default.fileExists(atPath: outside), "a file outside the store is copied, not moved")
        let reader = try XCTUnwrap(try store.reader(fromFile.key))
        XCTAssertEqual(reader.size, Int64(bytes.count))
        XCTAssertEqual(try reader.read(offset: 5, count: 10), bytes[5..<15])
        XCTAssertEqual(try reader.read(offset: Int64(bytes.count - 3), count: 100), bytes.suffix(3), "a read past the end is cut short")
        XCTAssertEqual(try reader.read(offset: Int64(bytes.count) + 10, count: 5), Data())
        XCTAssertTrue(try store.exists(fromFile.key))
        XCTAssertEqual(try store.keys(), [fromFile.key])
        XCTAssertNil(try store.presignedURL(fromFile.key, expiresInSeconds: 60, contentType: "x/y", contentDisposition: "inline"))
    }

    func testAScratchFileIsMovedInAndForeignKeysReachNothing() throws {
        let scratch = try store.scratchDirectory(for: UUID())
        let path = scratch + "/upload"
        try Data("scratch bytes".utf8).write(to: URL(fileURLWithPath: path))
        let blob = try store.put(fileAt: path, owner: blobOwner)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "a scratch file is renamed into place")
        XCTAssertEqual(try store.read(blob.key), Data("scratch bytes".utf8))
        for key in ["../etc/passwd", "sha256/../../x", "sha256/ab/cd/" + String(repeating: "g", count: 64), ""] {
            XCTAssertNil(try store.reader(key), key)
            XCTAssertFalse(try store.exists(key), key)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp"), [])
    }
}

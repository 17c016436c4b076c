import Crypto
import Domain
import Foundation
@testable import Persistence
import TestSupport
import XCTest

/// Blobs are content-addressed per user: one user's identical bytes are one blob, two users'
/// are two, and no key of one user names another's file. The layout from before (one shared
/// `sha256/…` blob) is listed apart and copied into an owner's place by the one-time move.
final class PerUserBlobKeyTests: XCTestCase {
    private var root = ""
    private var store: LocalBlobStore!
    private let alice = UUID()
    private let bob = UUID()

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("blobs-\(UUID().uuidString)").path
        store = try LocalBlobStore(root: root, digest: { LocalBlobStoreTests.digest($0) },
                                   streamingDigest: { GatheringDigest(LocalBlobStoreTests.digest) })
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    func testTheSameBytesAreOneBlobPerUserAndTwoAcrossUsers() throws {
        let bytes = Data("the same picture".utf8)
        let first = try store.put(bytes, owner: alice)
        let again = try store.put(bytes, owner: alice)
        XCTAssertEqual(first, again)
        XCTAssertEqual(try store.keys(), [first.key], "one blob for one user's identical bytes")
        let bobs = try store.put(bytes, owner: bob)
        XCTAssertEqual(bobs.sha256, first.sha256)
        XCTAssertNotEqual(bobs.key, first.key)
        XCTAssertEqual(try store.keys(), [first.key, bobs.key].sorted(), "two users, two blobs")
        XCTAssertEqual(try store.keys(owner: alice), [first.key])
        XCTAssertEqual(try store.keys(owner: bob), [bobs.key])
        XCTAssertEqual(try store.keys(owner: UUID()), [])
        try store.delete(first.key)
        XCTAssertEqual(try store.read(bobs.key), bytes, "deleting Alice's blob leaves Bob's")
        XCTAssertEqual(BlobKey.parse(bobs.key)?.owner, bob)
    }

    func testKeysOfAnotherShapeOrWithTraversalNameNoFile() throws {
        let blob = try store.put(Data("alice's".utf8), owner: alice)
        let upper = blob.key.replacingOccurrences(of: alice.uuidString.lowercased(), with: alice.uuidString)
        for key in [upper, "users/../" + blob.key, "users/\(alice.uuidString.lowercased())/../\(bob.uuidString.lowercased())/x",
                    "users/not-a-uuid/sha256/aa/bb/" + String(repeating: "a", count: 64), BlobKey.legacy(hex: blob.sha256),
                    blob.key + "/..", "users//sha256/"] {
            XCTAssertNil(try store.read(key), key)
            XCTAssertNil(try store.reader(key), key)
            XCTAssertFalse(try store.exists(key), key)
        }
    }

    func testALegacyBlobIsListedApartAndCopiedIntoItsOwnersPlace() throws {
        let bytes = Data("stored before migration 120".utf8)
        let hex = LocalBlobStoreTests.digest(bytes).map { String(format: "%02x", $0) }.joined()
        let legacy = BlobKey.legacy(hex: hex)
        let legacyPath = root + "/" + legacy
        try FileManager.default.createDirectory(atPath: (legacyPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try bytes.write(to: URL(fileURLWithPath: legacyPath))
        XCTAssertEqual(try store.legacyKeys(), [legacy])
        XCTAssertEqual(try store.keys(), [], "legacy blobs are not the per-user listing")
        XCTAssertNil(try store.read(legacy), "nor readable as a blob")
        let key = try XCTUnwrap(try store.copyLegacy(legacy, to: alice))
        XCTAssertEqual(key, BlobKey.make(owner: alice, hex: hex))
        XCTAssertEqual(try store.copyLegacy(legacy, to: alice), key, "copying twice is the same")
        XCTAssertEqual(try store.put(bytes, owner: alice).key, key, "the copy is what a new upload of the bytes names")
        try store.delete(legacy)
        XCTAssertFalse(FileManager.default.fileExists(atPath: legacyPath))
        XCTAssertEqual(try store.read(key), bytes, "the owner's copy outlives the legacy blob (a hard link)")
        XCTAssertEqual(try store.legacyKeys(), [])
        XCTAssertNil(try store.copyLegacy(legacy, to: bob), "a missing legacy blob copies to nothing")
        XCTAssertNil(try store.copyLegacy("../" + legacy, to: bob))
    }

    func testS3CopiesALegacyObjectServerSideAndListsItApart() throws {
        let server = try S3MotoServer.shared()
        let bucket = "mw-\(UUID().uuidString.lowercased().prefix(18))"
        try server.createBucket(bucket)
        let scratch = root + "/s3-scratch"
        let s3 = try S3BlobStore(settings: try server.settings(bucket: bucket), primitives: .crypto, scratchDirectory: scratch)
        let bytes = Data("an object from before".utf8)
        let hex = Hex.encode(try SHA256.hash(bytes))
        let legacy = BlobKey.legacy(hex: hex)
        _ = try s3.requester.send("PUT \(legacy)", method: "PUT", key: legacy, body: .data(bytes), payloadHash: hex)
        XCTAssertEqual(try s3.legacyKeys(), [legacy])
        XCTAssertEqual(try s3.keys(), [])
        XCTAssertFalse(try s3.exists(legacy), "a legacy key is not a blob of the store's shape")
        let key = try XCTUnwrap(try s3.copyLegacy(legacy, to: alice))
        XCTAssertEqual(key, BlobKey.make(owner: alice, hex: hex))
        try s3.delete(legacy)
        XCTAssertEqual(try s3.legacyKeys(), [])
        XCTAssertEqual(try s3.read(key), bytes)
        XCTAssertEqual(try s3.keys(), [key])
        XCTAssertNil(try s3.copyLegacy(legacy, to: bob), "a missing legacy object copies to nothing")
        XCTAssertEqual(try s3.put(bytes, owner: bob).key, BlobKey.make(owner: bob, hex: hex))
        XCTAssertEqual(try s3.keys().count, 2, "Bob's identical bytes are his own object")
        XCTAssertEqual(try s3.keys(owner: alice), [key])
        XCTAssertEqual(try s3.keys(owner: bob), [BlobKey.make(owner: bob, hex: hex)])
    }
}

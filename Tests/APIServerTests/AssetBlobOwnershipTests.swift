@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// Blobs belong to one user (migration 120, `BlobKey`): identical bytes are stored once per user
/// and never shared, no writer function lets a user name another user's blob (even knowing its
/// hash), and blobs of the layout from before move to their owners' keys once.
final class AssetBlobOwnershipTests: XCTestCase {
    private var server: TestServer!

    private struct User {
        let token: String
        let project: String
        let id: UUID
    }

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server?.stop()
    }

    private func user(_ email: String) throws -> User {
        let session = try server.signUp(email)
        let project = try XCTUnwrap(try server.createProject(["name": "Blobs"], token: session.accessToken)["id"] as? String)
        return User(token: session.accessToken, project: project, id: try XCTUnwrap(UUID(uuidString: session.userID)))
    }

    private func claims(_ user: User) -> String {
        #"{"sub":"\#(user.id.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#
    }

    private func keys(endingWith hex: String) throws -> [String] {
        try server.environment.assets.blobs.keys().filter { $0.hasSuffix(hex) }.sorted()
    }

    func testOneUsersIdenticalBytesAreOneBlobAndTwoUsersHaveTwo() throws {
        let alice = try user("dedupe-alice@example.com")
        let bob = try user("dedupe-bob@example.com")
        let bytes = Data("the very same bytes".utf8)
        let first = try server.uploadAsset(bytes, type: "text/plain", project: alice.project, token: alice.token)
        let second = try server.uploadAsset(bytes, type: "text/plain", project: alice.project, token: alice.token)
        let hex = try XCTUnwrap(first["sha256"] as? String)
        XCTAssertEqual(try keys(endingWith: hex), [BlobKey.make(owner: alice.id, hex: hex)], "Alice's two uploads: one blob")
        let bobs = try server.uploadAsset(bytes, type: "text/plain", project: bob.project, token: bob.token)
        XCTAssertEqual(bobs["sha256"] as? String, hex)
        XCTAssertEqual(try keys(endingWith: hex), [BlobKey.make(owner: alice.id, hex: hex), BlobKey.make(owner: bob.id, hex: hex)].sorted(),
                       "Bob's identical upload: a second blob, his own")
        for asset in [first, second] {
            XCTAssertEqual(try server.send("DELETE", "/v1/assets/\(asset["id"] as? String ?? "")", token: alice.token).status, 204)
        }
        XCTAssertEqual(try keys(endingWith: hex), [BlobKey.make(owner: bob.id, hex: hex)], "Alice's blob went with her last asset")
        let content = try server.get("/v1/assets/\(bobs["id"] as? String ?? "")/content", token: bob.token)
        XCTAssertEqual(content.status, 200)
        XCTAssertEqual(content.body, bytes, "Bob's copy is untouched")
    }

    func testNoWriterFunctionLetsAUserNameAnotherUsersBlob() throws {
        let alice = try user("owner-alice@example.com")
        let bob = try user("owner-bob@example.com")
        let secret = try server.uploadAsset(Data("alice's secret".utf8), type: "text/plain", project: alice.project, token: alice.token)
        let hex = try XCTUnwrap(secret["sha256"] as? String)
        let aliceKey = BlobKey.make(owner: alice.id, hex: hex)
        XCTAssertEqual(try keys(endingWith: hex), [aliceKey])
        let pool = server.environment.pool
        func createUpload(key: String) throws -> UUID {
            try pool.withUserScope(claimsJSON: claims(bob)) { transaction in
                try transaction.query("""
                    select id from app_engine.create_upload(gen_random_uuid(), \(bob.project)::uuid, 'text', 'text/plain', 14, \(hex), \(key),
                        'stolen', null, null, null, null, null, 'unavailable', '{}'::uuid[])
                    """)[0].decode("id", as: UUID.self)
            }
        }
        func assertRefused(_ work: @autoclosure () throws -> Any, _ message: String, line: UInt = #line) {
            XCTAssertThrowsError(try work(), message, line: line) { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, "23514", "\(message): \(error)", line: line)
            }
        }
        assertRefused(try createUpload(key: aliceKey), "create_upload with Alice's key")
        assertRefused(try createUpload(key: BlobKey.legacy(hex: hex)), "create_upload with the shared key of before")
        assertRefused(try createUpload(key: "users/\(bob.id.uuidString.lowercased())/../\(alice.id.uuidString.lowercased())/sha256/"
                                       + "\(hex.prefix(2))/\(hex.dropFirst(2).prefix(2))/\(hex)"), "create_upload with a traversal")

        // With the hash alone Bob can name only his own key for it, which holds nothing of Alice's.
        let own = try createUpload(key: BlobKey.make(owner: bob.id, hex: hex))
        let content = try server.get("/v1/assets/\(own.uuidString.lowercased())/content", token: bob.token)
        XCTAssertEqual(content.status, 404, "no bytes behind Bob's key: \(content.text)")
        XCTAssertFalse(content.body.contains(Data("alice's secret".utf8)))

        assertRefused(try pool.withUserScope(claimsJSON: claims(bob)) { transaction in
            try transaction.query("select app_engine.set_thumbnail(\(own), 'ready', \(aliceKey))")
        }, "set_thumbnail with Alice's key")

        let generation = try pool.withServiceRole { transaction in
            try transaction.query("""
                insert into public.generations (user_id, project_id, kind, prompt, pricing_version)
                values (\(bob.id), \(bob.project)::uuid, 'text', 'p', 'v') returning id
                """)[0].decode("id", as: UUID.self)
        }
        assertRefused(try pool.withUserScope(claimsJSON: claims(bob)) { transaction in
            try transaction.query("select app_engine.add_asset(\(generation), 'text', 'text/plain', 14, \(hex), \(aliceKey))")
        }, "add_asset with Alice's key")
        let added = try pool.withUserScope(claimsJSON: claims(bob)) { transaction in
            try transaction.query("""
                select app_engine.add_asset(\(generation), 'text', 'text/plain', 14, \(hex), \(BlobKey.make(owner: bob.id, hex: hex))) as id
                """)[0].decode("id", as: UUID.self)
        }
        XCTAssertNotEqual(added, own, "his own key for the hash is accepted, so the refusals above are about the owner")
        XCTAssertEqual(try keys(endingWith: hex), [aliceKey], "Alice's blob is still hers alone")
    }

    /// The one-time move from the shared layout of before migration 120: rows already name their
    /// owner's keys (the migration rewrote them), the bytes are still at `sha256/…`.
    func testBlobsOfTheSharedLayoutMoveToTheirOwnersKeys() throws {
        let alice = try user("legacy-alice@example.com")
        let bob = try user("legacy-bob@example.com")
        let bytes = Data("uploaded before the per-user layout".utf8)
        let first = try server.uploadAsset(bytes, type: "text/plain", project: alice.project, token: alice.token)
        let second = try server.uploadAsset(bytes, type: "text/plain", project: bob.project, token: bob.token)
        let hex = try XCTUnwrap(first["sha256"] as? String)
        let root = server.environment.config.storageDirectory
        let legacy = BlobKey.legacy(hex: hex)
        try FileManager.default.createDirectory(atPath: root + "/" + (legacy as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: root + "/" + BlobKey.make(owner: alice.id, hex: hex), toPath: root + "/" + legacy)
        try FileManager.default.removeItem(atPath: root + "/" + BlobKey.make(owner: bob.id, hex: hex))
        let blobs = server.environment.assets.blobs
        XCTAssertEqual(try blobs.legacyKeys(), [legacy])
        XCTAssertEqual(try server.get("/v1/assets/\(first["id"] as? String ?? "")/content", token: alice.token).status, 404, "the bytes are not in place yet")

        let move = LegacyBlobMove(store: server.environment.assets.store, blobs: blobs)
        let report = try move.run()
        XCTAssertEqual(report, LegacyBlobMove.Report(copied: 2, deletedLegacy: 1, unrecoverable: [], waitingForMigration: false))
        XCTAssertEqual(try blobs.legacyKeys(), [])
        for (asset, token) in [(first, alice.token), (second, bob.token)] {
            let content = try server.get("/v1/assets/\(asset["id"] as? String ?? "")/content", token: token)
            XCTAssertEqual(content.status, 200)
            XCTAssertEqual(content.body, bytes)
        }
        let sweep = try StorageSweep(store: server.environment.assets.store, blobs: blobs).run(delete: false)
        XCTAssertEqual(sweep.orphanBlobs, [])
        XCTAssertEqual(sweep.missingBlobs, [])
        XCTAssertEqual(try move.run(), LegacyBlobMove.Report(), "a second run finds nothing to move")
    }

    /// Before migration 120 has rewritten the rows (a server started against an unmigrated
    /// database) the move touches nothing: deleting the legacy blobs then would lose them.
    func testTheMoveWaitsWhileRowsStillNameSharedKeys() throws {
        let blobs = server.environment.assets.blobs
        let hex = String(repeating: "9a", count: 32)
        let legacy = BlobKey.legacy(hex: hex)
        let path = server.environment.config.storageDirectory + "/" + legacy
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data("still needed".utf8).write(to: URL(fileURLWithPath: path))
        let report = try LegacyBlobMove(store: UnmigratedRows(keys: [legacy]), blobs: blobs).run()
        XCTAssertTrue(report.waitingForMigration)
        XCTAssertEqual(report.deletedLegacy, 0)
        XCTAssertEqual(try blobs.legacyKeys(), [legacy], "the shared blob is kept")
    }
}

/// Rows as an unmigrated database has them: only the keys are answered.
private struct UnmigratedRows: AssetStore {
    struct Unused: Error {}
    let keys: Set<String>

    func createUpload(project: UUID, claimsJSON: String, quota: StorageQuota, put: () throws -> NewUpload,
                      stillStored: (String) throws -> Bool) throws -> Asset { throw Unused() }
    func storedBytes(claimsJSON: String) throws -> Int64 { throw Unused() }
    func asset(_ id: UUID, claimsJSON: String) throws -> Asset? { throw Unused() }
    func list(_ filter: AssetFilter, claimsJSON: String) throws -> AssetPage { throw Unused() }
    func update(_ id: UUID, expectedVersion: Int?, changes: AssetChanges, claimsJSON: String) throws -> Asset? { throw Unused() }
    func bulkUpdate(_ ids: [UUID], changes: AssetChanges, claimsJSON: String) throws -> Result<[Asset], MissingAssets> { throw Unused() }
    func delete(_ ids: [UUID], claimsJSON: String, deleteBlob: (String) throws -> Void) throws -> Result<[UUID], MissingAssets> { throw Unused() }
    func lineage(_ id: UUID, claimsJSON: String) throws -> AssetLineage? { throw Unused() }
    func setThumbnail(_ id: UUID, state: ThumbnailState, key: String?, claimsJSON: String) throws { throw Unused() }
    func referencedKeys() throws -> Set<String> { keys }
    func deleteIfUnreferenced(_ key: String, deleteBlob: (String) throws -> Void) throws -> Bool { throw Unused() }
    func keysOnlyNamed(byUser user: UUID) throws -> [String] { throw Unused() }
}

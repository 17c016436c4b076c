@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// What outlives rows and blobs: `storage gc` finds blobs without rows (a crash between the blob's
/// write and its row's commit) and rows without blobs; deleting an account or a project removes its blobs.
final class AssetStorageTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server?.stop()
    }

    func testGarbageCollectionReportsBothKindsOfOrphanAndDeletesOnlyUnnamedBlobs() throws {
        let (token, project) = try server.assetUser("gc@example.com")
        let kept = try server.uploadAsset(Data("kept".utf8), type: "text/plain", project: project, token: token)
        let lost = try server.uploadAsset(Data("lost".utf8), type: "text/plain", project: project, token: token)
        let blobs = server.environment.assets.blobs
        // The crash: a blob stored whose row never committed.
        let orphan = try blobs.put(Data("written, never named".utf8), owner: UUID())
        // And the other way: a row whose blob went missing.
        let lostKey = try XCTUnwrap(try blobs.keys().first { $0.hasSuffix(lost["sha256"] as? String ?? "-") })
        try blobs.delete(lostKey)
        let sweep = StorageSweep(store: server.environment.assets.store, blobs: blobs)
        let report = try sweep.run(delete: false)
        XCTAssertEqual(report.orphanBlobs, [orphan.key])
        XCTAssertEqual(report.missingBlobs, [lostKey])
        XCTAssertEqual(report.deleted, [])
        XCTAssertTrue(try blobs.exists(orphan.key), "a report alone deletes nothing")
        let deleting = try sweep.run(delete: true)
        XCTAssertEqual(deleting.deleted, [orphan.key])
        XCTAssertFalse(try blobs.exists(orphan.key))
        let keptKey = try XCTUnwrap(try blobs.keys().first { $0.hasSuffix(kept["sha256"] as? String ?? "-") })
        XCTAssertTrue(try blobs.exists(keptKey), "a named blob is never collected")
        XCTAssertEqual(try sweep.run(delete: false).orphanBlobs, [])
    }

    func testDeletingAnAccountRemovesItsBlobsAndNoOneElses() throws {
        let leaving = try server.assetUser("leaving@example.com")
        let staying = try server.assetUser("staying@example.com")
        let own = try server.uploadAsset(Data("only mine".utf8), type: "text/plain", project: leaving.project, token: leaving.token)
        let shared = try server.uploadAsset(Data("both of us".utf8), type: "text/plain", project: leaving.project, token: leaving.token)
        let kept = try server.uploadAsset(Data("both of us".utf8), type: "text/plain", project: staying.project, token: staying.token)
        let blobs = server.environment.assets.blobs
        func keys(_ asset: [String: Any]) throws -> [String] {
            try blobs.keys().filter { $0.hasSuffix(asset["sha256"] as? String ?? "-") }
        }
        let ownKeys = try keys(own)
        XCTAssertEqual(ownKeys.count, 1)
        // An upload whose row a crash never wrote: a blob under the account's keys that no asset names.
        let leavingID = try XCTUnwrap(UUID(uuidString: try server.get("/auth/v1/user", token: leaving.token).json()["id"] as? String ?? ""))
        let unnamed = try blobs.put(Data("never named".utf8), owner: leavingID)
        XCTAssertEqual(try blobs.keys(owner: leavingID).count, 3)
        XCTAssertEqual(try keys(shared).count, 2, "identical bytes of two users are two blobs")
        let deleted = try server.connect().request("DELETE", "/auth/v1/user", headers: ["Authorization": "Bearer \(leaving.token)"])
        XCTAssertEqual(deleted.status, 204, deleted.text)
        XCTAssertEqual(try keys(own), [], "the account's own content is gone")
        XCTAssertFalse(try blobs.exists(unnamed.key), "and its blob that no asset named")
        XCTAssertEqual(try blobs.keys(owner: leavingID), [])
        XCTAssertEqual(try keys(shared).count, 1, "its copy of the shared bytes too, and only its copy")
        XCTAssertEqual(try server.get("/v1/assets", token: staying.token).json()["data"].map { ($0 as? [Any])?.count }, 1)
        let content = try server.get("/v1/assets/\(kept["id"] as? String ?? "")/content", token: staying.token)
        XCTAssertEqual(content.status, 200)
        XCTAssertEqual(content.body, Data("both of us".utf8), "the other account's identical content is intact")
    }

    func testDeletingAProjectRemovesTheBlobsOnlyItsAssetsNamed() throws {
        let (token, doomed) = try server.assetUser("project-delete@example.com")
        let kept = try XCTUnwrap(try server.createProject(["name": "Kept"], token: token)["id"] as? String)
        let own = try server.uploadAsset(Data("only in the deleted project".utf8), type: "text/plain", project: doomed, token: token)
        _ = try server.uploadAsset(Data("in both projects".utf8), type: "text/plain", project: doomed, token: token)
        let survivor = try server.uploadAsset(Data("in both projects".utf8), type: "text/plain", project: kept, token: token)
        let blobs = server.environment.assets.blobs
        func keys(_ asset: [String: Any]) throws -> [String] {
            try blobs.keys().filter { $0.hasSuffix(asset["sha256"] as? String ?? "-") }
        }
        let ownKeys = try keys(own)
        XCTAssertEqual(ownKeys.count, 1)
        XCTAssertEqual(try keys(survivor).count, 1, "one user's identical bytes share a blob")
        let deleted = try server.connect().request("DELETE", "/v1/projects/\(doomed)", headers: ["Authorization": "Bearer \(token)"])
        XCTAssertEqual(deleted.status, 204, deleted.text)
        // The removal runs after the answer, off the HTTP thread.
        ProjectBlobRemoval.waitForRemovals()
        XCTAssertEqual(try keys(own), [], "the deleted project's own content is removed")
        XCTAssertEqual(try keys(survivor).count, 1, "the bytes another project still names stay")
        let content = try server.get("/v1/assets/\(survivor["id"] as? String ?? "")/content", token: token)
        XCTAssertEqual(content.status, 200)
        XCTAssertEqual(content.body, Data("in both projects".utf8))
    }
}

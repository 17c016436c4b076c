import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// An upload's blob is stored while no pooled connection is held: a large copy, or an upload to
/// S3, must not take one of the connections every request shares for as long as it runs.
final class AssetUploadConnectionTests: XCTestCase {
    private var url = ""
    private var admin: PostgresConnection!
    private var pool: ConnectionPool!
    private let alice = UUID()

    override func setUpWithError() throws {
        url = try TestPostgresCluster.shared.createDatabase(prefix: "uploadconn")
        admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        // One connection, given up quickly: a put run while the upload holds it cannot get another.
        pool = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 1,
                                    acquireTimeout: 0.5))
        try admin.query("insert into auth.users (id, email) values (\(alice), 'upload-alice@example.com')")
    }

    override func tearDown() {
        pool.close()
    }

    private var claims: String {
        #"{"sub":"\#(alice.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#
    }

    private func project() throws -> UUID {
        try admin.query("insert into public.projects (user_id, name) values (\(alice), 'uploads') returning id")[0].decode("id", as: UUID.self)
    }

    private func upload(into project: UUID) -> NewUpload {
        let hex = String(repeating: "ab", count: 32)
        return NewUpload(id: UUID(), projectID: project, kind: .text, contentType: "text/plain",
                         blob: StoredBlob(key: BlobKey.make(owner: alice, hex: hex), sha256: hex, bytes: 5),
                         name: "note", originalFilename: nil, metadata: MediaMetadata(), thumbnailState: .unavailable, parents: [])
    }

    func testTheBlobIsStoredWhileNoConnectionIsHeld() throws {
        let store = PostgresAssetStore(pool: pool)
        let project = try project()
        var connectionsInUseDuringPut: Int?
        let asset = try store.createUpload(project: project, claimsJSON: claims, quota: .none, put: {
            connectionsInUseDuringPut = pool.statistics.inUse
            // The pool's only connection, taken here as another request would take it.
            _ = try pool.withConnection { connection in try connection.query("select 1") }
            return upload(into: project)
        }, stillStored: { _ in true })
        XCTAssertEqual(connectionsInUseDuringPut, 0)
        XCTAssertEqual(asset.projectID, project)
        XCTAssertEqual(try admin.query("select count(*)::integer as n from public.assets")[0].decode("n", as: Int.self), 1)
    }

    func testAnUnknownProjectIsRefusedBeforeAnyBlobIsStored() throws {
        let store = PostgresAssetStore(pool: pool)
        var stored = false
        XCTAssertThrowsError(try store.createUpload(project: UUID(), claimsJSON: claims, quota: .none, put: {
            stored = true
            return upload(into: UUID())
        }, stillStored: { _ in true })) { error in
            XCTAssertEqual(error as? DomainError, .notFound(resource: "project"))
        }
        XCTAssertFalse(stored)
    }

    /// A delete of the project arriving while the row's transaction runs waits for it (the project is
    /// held FOR KEY SHARE), then removes the project and the new asset with it; it no longer makes the
    /// insert fail on the foreign key, which answered as if the account were gone.
    func testAProjectDeleteDuringTheRowsTransactionWaitsForIt() throws {
        let store = PostgresAssetStore(pool: pool)
        let project = try project()
        let deleted = DispatchSemaphore(value: 0)
        let url = self.url
        let asset = try store.createUpload(project: project, claimsJSON: claims, quota: .none, put: { upload(into: project) },
                                           stillStored: { _ in
            Thread {
                _ = try? PostgresConnection(url: url).query("delete from public.projects where id = \(project)")
                deleted.signal()
            }.start()
            // The delete has had time to commit, were it not held back.
            Thread.sleep(forTimeInterval: 0.5)
            return true
        })
        XCTAssertEqual(asset.projectID, project)
        XCTAssertEqual(deleted.wait(timeout: .now() + 10), .success, "the delete went through once the upload committed")
        XCTAssertEqual(try admin.query("select count(*)::integer as n from public.assets")[0].decode("n", as: Int.self), 0,
                       "and took the new asset with its project")
    }

    func testAProjectDeletedWhileTheBlobWasStoredWritesNoRow() throws {
        let store = PostgresAssetStore(pool: pool)
        let project = try project()
        XCTAssertThrowsError(try store.createUpload(project: project, claimsJSON: claims, quota: .none, put: {
            try admin.query("delete from public.projects where id = \(project)")
            return upload(into: project)
        }, stillStored: { _ in true })) { error in
            XCTAssertEqual(error as? DomainError, .notFound(resource: "project"))
        }
        XCTAssertEqual(try admin.query("select count(*)::integer as n from public.assets")[0].decode("n", as: Int.self), 0)
    }
}

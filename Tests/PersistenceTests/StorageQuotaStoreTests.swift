import Dispatch
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// The quota's last word is the upload's own transaction: the sum of the user's assets read under a
/// per-user lock, so two uploads whose blobs were stored at the same time cannot both take the room
/// that only one of them fits in.
final class StorageQuotaStoreTests: XCTestCase {
    private var admin: PostgresConnection!
    private var pool: ConnectionPool!
    private let alice = UUID()
    private let bob = UUID()

    override func setUpWithError() throws {
        let url = try TestPostgresCluster.shared.createDatabase(prefix: "quota")
        admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        pool = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 4))
        for user in [alice, bob] {
            try admin.query("insert into auth.users (id, email) values (\(user), \(user.uuidString.lowercased() + "@example.com"))")
        }
    }

    override func tearDown() {
        pool.close()
    }

    private func claims(_ user: UUID) -> String {
        #"{"sub":"\#(user.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#
    }

    private func project(of user: UUID) throws -> UUID {
        try admin.query("insert into public.projects (user_id, name) values (\(user), 'quota') returning id")[0].decode("id", as: UUID.self)
    }

    private func upload(_ user: UUID, _ project: UUID, bytes: Int64) -> NewUpload {
        let hex = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") + String(repeating: "0", count: 32)
        return NewUpload(id: UUID(), projectID: project, kind: .text, contentType: "text/plain",
                         blob: StoredBlob(key: BlobKey.make(owner: user, hex: hex), sha256: hex, bytes: bytes),
                         name: "note", originalFilename: nil, metadata: MediaMetadata(), thumbnailState: .unavailable, parents: [])
    }

    func testTheSumCountsOnlyTheCallersAssets() throws {
        let store = PostgresAssetStore(pool: pool)
        let quota = StorageQuota(bytes: 3000)
        let mine = try project(of: alice)
        let theirs = try project(of: bob)
        _ = try store.createUpload(project: mine, claimsJSON: claims(alice), quota: quota, put: { upload(alice, mine, bytes: 1200) },
                                   stillStored: { _ in true })
        _ = try store.createUpload(project: theirs, claimsJSON: claims(bob), quota: quota, put: { upload(bob, theirs, bytes: 2900) },
                                   stillStored: { _ in true })
        XCTAssertEqual(try store.storedBytes(claimsJSON: claims(alice)), 1200)
        XCTAssertEqual(try store.storedBytes(claimsJSON: claims(bob)), 2900)
        XCTAssertThrowsError(try store.createUpload(project: mine, claimsJSON: claims(alice), quota: quota,
                                                    put: { upload(alice, mine, bytes: 1801) }, stillStored: { _ in true })) { error in
            XCTAssertEqual(error as? StorageQuotaExceeded, StorageQuotaExceeded(used: 1200, quota: 3000, adding: 1801))
        }
        _ = try store.createUpload(project: mine, claimsJSON: claims(alice), quota: quota, put: { upload(alice, mine, bytes: 1800) },
                                   stillStored: { _ in true })
        XCTAssertEqual(try store.storedBytes(claimsJSON: claims(alice)), 3000)
    }

    /// Both blobs are stored before either row's transaction begins (the puts wait for each other):
    /// without the per-user lock both would read 0 bytes kept and both be written.
    func testTwoUploadsStoredTogetherCannotBothTakeTheLastRoom() throws {
        let store = PostgresAssetStore(pool: pool)
        let quota = StorageQuota(bytes: 3000)
        let mine = try project(of: alice)
        let bothStored = DispatchGroup()
        bothStored.enter()
        bothStored.enter()
        let outcomes = Outcomes()
        let caller = claims(alice)
        let uploads = [upload(alice, mine, bytes: 2000), upload(alice, mine, bytes: 2000)]
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            do {
                _ = try store.createUpload(project: mine, claimsJSON: caller, quota: quota, put: {
                    bothStored.leave()
                    _ = bothStored.wait(timeout: .now() + 10)
                    return uploads[index]
                }, stillStored: { _ in true })
                outcomes.add("created")
            } catch is StorageQuotaExceeded {
                outcomes.add("refused")
            } catch {
                outcomes.add("\(error)")
            }
        }
        XCTAssertEqual(outcomes.sorted, ["created", "refused"])
        XCTAssertEqual(try store.storedBytes(claimsJSON: claims(alice)), 2000)
    }
}

private final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []

    func add(_ outcome: String) { lock.withLock { list.append(outcome) } }
    var sorted: [String] { lock.withLock { list.sorted() } }
}

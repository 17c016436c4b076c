import Domain
import Foundation
@testable import Persistence
import TestSupport
import XCTest

/// Migration 120 on a database that has assets of the shared layout: their keys become their
/// owners' (`BlobKey.make`), and from then on the table refuses a key that is not the row's user's.
final class AssetKeyMigrationTests: XCTestCase {
    func testRowsOfTheSharedLayoutMoveToTheirOwnersKeysAndForeignKeysAreRefusedAfterwards() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let all = try FileManager.default.contentsOfDirectory(atPath: SecurityModelTests.migrationsFolder.path).filter { $0.hasSuffix(".sql") }
        let before = all.filter { $0 < "120" }
        XCTAssertTrue(all.contains("120_per_user_blob_keys.sql"))
        for name in before {
            try FileManager.default.copyItem(at: SecurityModelTests.migrationsFolder.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        let admin = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase(prefix: "keys"))
        try MigrationRunner(directory: folder).migrate(using: admin)

        let alice = UUID()
        let bob = UUID()
        let content = String(repeating: "ab", count: 32)
        let thumbnail = String(repeating: "cd", count: 32)
        var assets: [UUID: UUID] = [:]
        for user in [alice, bob] {
            try admin.query("insert into auth.users (id, email) values (\(user), \(user.uuidString.lowercased() + "@example.com"))")
            let project = try admin.query("insert into public.projects (user_id, name) values (\(user), 'p') returning id")[0].decode("id", as: UUID.self)
            // Both users have the same bytes: before 120 one shared blob.
            assets[user] = try admin.query("""
                insert into public.assets (user_id, project_id, kind, content_type, bytes, sha256, storage_key, thumbnail_key)
                values (\(user), \(project), 'image', 'image/png', 1, \(content), \(BlobKey.legacy(hex: content)), \(BlobKey.legacy(hex: thumbnail)))
                returning id
                """)[0].decode("id", as: UUID.self)
        }

        try FileManager.default.copyItem(at: SecurityModelTests.migrationsFolder.appendingPathComponent("120_per_user_blob_keys.sql"),
                                         to: folder.appendingPathComponent("120_per_user_blob_keys.sql"))
        try MigrationRunner(directory: folder).migrate(using: admin)
        for user in [alice, bob] {
            let row = try admin.query("select storage_key, thumbnail_key from public.assets where id = \(assets[user])")[0]
            XCTAssertEqual(try row.decode("storage_key", as: String.self), BlobKey.make(owner: user, hex: content))
            XCTAssertEqual(try row.decode("thumbnail_key", as: String.self), BlobKey.make(owner: user, hex: thumbnail))
        }
        let project = try admin.query("select id from public.projects where user_id = \(bob)")[0].decode("id", as: UUID.self)
        for (key, thumbnailKey) in [(BlobKey.make(owner: alice, hex: content), nil), (BlobKey.legacy(hex: content), nil),
                                    (BlobKey.make(owner: bob, hex: thumbnail), nil),
                                    (BlobKey.make(owner: bob, hex: content), BlobKey.make(owner: alice, hex: thumbnail))] {
            XCTAssertThrowsError(try admin.query("""
                insert into public.assets (user_id, project_id, kind, content_type, bytes, sha256, storage_key, thumbnail_key)
                values (\(bob), \(project), 'image', 'image/png', 1, \(content), \(key), \(thumbnailKey))
                """), "\(key) \(thumbnailKey ?? "-")") { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, "23514")
            }
        }
        try admin.query("""
            insert into public.assets (user_id, project_id, kind, content_type, bytes, sha256, storage_key, thumbnail_key)
            values (\(bob), \(project), 'image', 'image/png', 1, \(content), \(BlobKey.make(owner: bob, hex: content)),
                    \(BlobKey.make(owner: bob, hex: thumbnail)))
            """)
    }
}

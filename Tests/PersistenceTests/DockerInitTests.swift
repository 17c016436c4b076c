import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// docker/initdb/10-app-roles.sh, on a cluster of its own (roles are cluster-wide): after its SQL,
/// migrations run as `app_owner`, which is not a superuser, and the server's login role is
/// `authenticator`. Docker itself cannot run here; this runs the same SQL the image would.
final class DockerInitTests: XCTestCase {
    static let script = SecurityModelTests.migrationsFolder.deletingLastPathComponent().appendingPathComponent("docker/initdb/10-app-roles.sh")

    /// The SQL the script feeds psql, with its psql variables filled in as psql would.
    private func initSQL(database: String) throws -> String {
        let text = try String(contentsOf: Self.script, encoding: .utf8)
        guard let start = text.range(of: "<<'SQL'\n"), let end = text.range(of: "\nSQL\n", range: start.upperBound..<text.endIndex) else {
            throw TestSupportError("no SQL here-document in \(Self.script.path)")
        }
        return String(text[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: ":'authenticator_password'", with: "'authenticator-secret'")
            .replacingOccurrences(of: ":'owner_password'", with: "'owner-secret'")
            .replacingOccurrences(of: ":\"db\"", with: "\"\(database)\"")
    }

    func testMigrationsRunAsTheNonSuperuserOwnerTheInitStepCreates() throws {
        let cluster = try TestPostgresCluster()
        defer { cluster.remove() }
        let url = try cluster.createDatabase(prefix: "docker")
        let database = String(url.split(separator: "/").last ?? "")
        try PostgresConnection(url: url).executeScript(SQL(unsafeRaw: try initSQL(database: database)))

        let owner = try PostgresConnection(url: url.replacingOccurrences(of: "postgres@", with: "app_owner@"))
        let role = try owner.query("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")[0]
        XCTAssertFalse(try role.decode("rolsuper", as: Bool.self))
        XCTAssertFalse(try role.decode("rolbypassrls", as: Bool.self))
        let runner = try MigrationRunner(directory: SecurityModelTests.migrationsFolder)
        XCTAssertEqual(try runner.migrate(using: owner).count, runner.files.count)
        XCTAssertEqual(try SchemaAudit.violations(using: owner), [])

        // What `apiserver migrate` does next, on the owner's connection: read and import pricing.
        let ownerPool = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "app_owner@"), maximumConnections: 1))
        defer { ownerPool.close() }
        let catalog = SecurityModelTests.migrationsFolder.deletingLastPathComponent().appendingPathComponent("pricing/catalog.json")
        let store = PostgresPricingStore(pool: ownerPool)
        XCTAssertNil(try store.currentVersion())
        XCTAssertTrue(try store.importVersion(try PricingCatalog.load(try Data(contentsOf: catalog))))

        // The server's login role owns nothing, and reaches data only by switching role.
        let server = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 1))
        defer { server.close() }
        XCTAssertNotNil(try PostgresPricingStore(pool: server).currentVersion())
        let owned = try server.withConnection {
            try $0.query("select count(*)::int as n from pg_class where relowner = (select oid from pg_roles where rolname = current_user)")[0]
                .decode("n", as: Int.self)
        }
        XCTAssertEqual(owned, 0)
        XCTAssertThrowsError(try server.withConnection { try $0.query("select * from public.projects") }) {
            XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501")
        }
    }
}

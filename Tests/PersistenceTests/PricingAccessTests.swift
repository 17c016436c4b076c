import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// Pricing is read as `authenticated` (every user may read it), not as service_role.
final class PricingAccessTests: XCTestCase {
    func testPricingIsReadAsAuthenticatedAndImportedAsServiceRole() throws {
        let url = try TestPostgresCluster.shared.createDatabase(prefix: "pricing")
        let admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        let pool = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 1))
        defer { pool.close() }
        let store = PostgresPricingStore(pool: pool)
        let catalog = SecurityModelTests.migrationsFolder.deletingLastPathComponent().appendingPathComponent("pricing/catalog.json")
        let version = try PricingCatalog.load(try Data(contentsOf: catalog))
        XCTAssertTrue(try store.importVersion(version))
        XCTAssertEqual(try store.currentVersion()?.fingerprint, version.fingerprint)

        // Without authenticated's grant the read fails, so it does not run as service_role.
        try admin.query("revoke select on pricing.versions from authenticated")
        XCTAssertThrowsError(try store.currentVersion()) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "42501") }
        try admin.query("grant select on pricing.versions to authenticated")
        // And the shared read scope sees no user's rows.
        let visible = try pool.withSharedReadScope { try $0.query("select count(*)::int as n from public.projects")[0].decode("n", as: Int.self) }
        XCTAssertEqual(visible, 0)
        XCTAssertThrowsError(try pool.withSharedReadScope { try $0.query("update pricing.versions set label = 'x'") }) {
            XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "25006", "read only")
        }
    }
}

import Foundation
import Persistence
import TestSupport
import XCTest

/// `apiserver migrate` needs the pricing catalog: without it every model would quote as unpriced,
/// so a missing or broken file stops the command before anything is applied.
final class MigrateCatalogTests: XCTestCase {
    private var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("apiserver").path
    }

    private func migrate(catalog: String, databaseURL: String) throws -> (status: Int32, output: String) {
        let child = try ChildProcess(binary, ["migrate"], environment: [
            "DATABASE_URL": databaseURL, "APP_ENV": "development",
            "MIGRATIONS_DIR": TestServer.repositoryRoot.appendingPathComponent("migrations").path,
            "PRICING_CATALOG": catalog,
        ])
        let status = child.wait()
        return (status, child.output)
    }

    private func appliedMigrations(_ databaseURL: String) throws -> Int {
        let connection = try PostgresConnection(url: databaseURL)
        let exists = try connection.query("select to_regclass('meta.schema_migrations') is not null as present")[0].decode("present", as: Bool.self)
        guard exists else { return 0 }
        return try connection.query("select count(*)::int as n from meta.schema_migrations")[0].decode("n", as: Int.self)
    }

    func testAMissingCatalogStopsMigrateBeforeAnythingIsApplied() throws {
        let database = try TestPostgresCluster.shared.createDatabase(prefix: "nocat")
        let missing = "/nonexistent-\(UUID().uuidString)/catalog.json"
        let result = try migrate(catalog: missing, databaseURL: database)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("apiserver: migrate refused: the pricing catalog \(missing) does not exist"), result.output)
        XCTAssertTrue(result.output.contains("PRICING_CATALOG"), result.output)
        XCTAssertFalse(result.output.contains("migrations complete"), result.output)
        XCTAssertEqual(try appliedMigrations(database), 0, "nothing was applied")
    }

    func testADirectoryOrABrokenCatalogStopsMigrateToo() throws {
        let database = try TestPostgresCluster.shared.createDatabase(prefix: "badcat")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let asDirectory = try migrate(catalog: directory.path, databaseURL: database)
        XCTAssertEqual(asDirectory.status, 1, asDirectory.output)
        XCTAssertTrue(asDirectory.output.contains("is not a readable file"), asDirectory.output)

        let broken = directory.appendingPathComponent("catalog.json")
        try Data(#"{"format": "media-workspace-pricing/1", "models": "#.utf8).write(to: broken)
        let asBroken = try migrate(catalog: broken.path, databaseURL: database)
        XCTAssertEqual(asBroken.status, 1, asBroken.output)
        XCTAssertTrue(asBroken.output.contains("migrate refused"), asBroken.output)
        XCTAssertEqual(try appliedMigrations(database), 0, "nothing was applied")
    }

    func testTheShippedCatalogIsLoadedOnce() throws {
        let database = try TestPostgresCluster.shared.createDatabase(prefix: "shipcat")
        let shipped = TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json").path
        let first = try migrate(catalog: shipped, databaseURL: database)
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.output.contains("imported pricing version"), first.output)
        XCTAssertGreaterThan(try appliedMigrations(database), 0)
        let second = try migrate(catalog: shipped, databaseURL: database)
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertFalse(second.output.contains("imported pricing version"), "a stored version is kept: \(second.output)")
    }
}

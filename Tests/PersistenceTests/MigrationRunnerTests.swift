import Foundation
import Persistence
import TestSupport
import XCTest

final class MigrationRunnerTests: XCTestCase {
    private func files(_ pairs: [(Int, String, String)]) -> [MigrationFile] {
        pairs.map { MigrationFile(version: $0.0, name: $0.1, sql: $0.2) }
    }

    func testAppliesInOrderOnceAndRecordsChecksums() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        let runner = MigrationRunner(files: files([
            (2, "second", "insert into log values ('second');"),
            (1, "first", "create table log (entry text); insert into log values ('first');"),
        ]).sorted { $0.version < $1.version })
        XCTAssertEqual(try runner.status(using: connection), .init(applied: [], pending: [1, 2]))
        XCTAssertEqual(try runner.migrate(using: connection), [1, 2])
        XCTAssertEqual(try runner.migrate(using: connection), [], "a second run applies nothing")
        let entries = try connection.query("select entry from log").map { try $0.decode("entry", as: String.self) }
        XCTAssertEqual(entries, ["first", "second"])
        let checksums = try connection.query("select checksum from meta.schema_migrations order by version")
        XCTAssertEqual(checksums.count, 2)
        XCTAssertEqual(try checksums[0].decode("checksum", as: String.self).count, 64)
        XCTAssertEqual(try runner.status(using: connection), .init(applied: [1, 2], pending: []))
    }

    func testChangedAppliedFileIsRefused() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        try MigrationRunner(files: files([(1, "first", "create table a (x int);")])).migrate(using: connection)
        let edited = MigrationRunner(files: files([(1, "first", "create table a (x bigint);"), (2, "next", "create table b (y int);")]))
        XCTAssertThrowsError(try edited.migrate(using: connection)) { error in
            guard case .checksumMismatch(1, "first") = error as? MigrationError else { return XCTFail("\(error)") }
            XCTAssertTrue(String(describing: error).contains("was changed after it was applied"))
        }
        let tables = try connection.query("select to_regclass('b') is null as absent")
        XCTAssertTrue(try tables[0].decode("absent", as: Bool.self), "nothing after the refusal was applied")
    }

    /// Readiness asks on every probe; the files' checksums are remembered after the first, the
    /// recorded ones are not: a row changed later is still refused.
    func testRecordedChecksumIsCheckedOnEveryStatusAfterTheFirst() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        let runner = MigrationRunner(files: files([(1, "first", "create table a (x int);"), (2, "next", "create table b (y int);")]))
        try runner.migrate(using: connection)
        XCTAssertEqual(try runner.status(using: connection), .init(applied: [1, 2], pending: []))
        XCTAssertEqual(try runner.status(using: connection), .init(applied: [1, 2], pending: []))
        try connection.query("update meta.schema_migrations set checksum = md5('other') where version = 2")
        XCTAssertThrowsError(try runner.status(using: connection)) { error in
            guard case .checksumMismatch(2, "next") = error as? MigrationError else { return XCTFail("\(error)") }
        }
        try connection.query("delete from meta.schema_migrations where version = 2")
        XCTAssertEqual(try runner.status(using: connection), .init(applied: [1], pending: [2]))
    }

    func testFailingMigrationRollsBackWholly() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        let runner = MigrationRunner(files: files([(1, "broken", "create table c (x int); select 1/0;")]))
        XCTAssertThrowsError(try runner.migrate(using: connection)) { error in
            guard case .failed(1, "broken", let underlying) = error as? MigrationError else { return XCTFail("\(error)") }
            XCTAssertEqual(underlying.sqlState, "22012")
        }
        XCTAssertTrue(try connection.query("select to_regclass('c') is null as absent")[0].decode("absent", as: Bool.self))
        XCTAssertEqual(try runner.status(using: connection).pending, [1])
    }

    func testConcurrentRunsApplyEachMigrationOnce() throws {
        let url = try TestPostgresCluster.shared.createDatabase()
        // The sleep widens the window in which a second runner could slip in without the lock.
        let runner = MigrationRunner(files: files([
            (1, "slow", "create table counter (n int); select pg_sleep(0.3); insert into counter values (1);"),
            (2, "bump", "update counter set n = n + 1;"),
        ]))
        let results = Mutexed<[[Int]]>([])
        let errors = Mutexed<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let connection = try PostgresConnection(url: url)
                let applied = try runner.migrate(using: connection)
                results.mutate { $0.append(applied) }
            } catch {
                errors.mutate { $0.append(String(reflecting: error)) }
            }
        }
        XCTAssertEqual(errors.value, [])
        XCTAssertEqual(results.value.flatMap { $0 }.sorted(), [1, 2], "each version applied by exactly one runner")
        let connection = try PostgresConnection(url: url)
        XCTAssertEqual(try connection.query("select n from counter")[0].decode("n", as: Int.self), 2)
    }

    func testFilesAreReadFromAFolderInVersionOrder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mig-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "select 10;".write(to: folder.appendingPathComponent("010_ten.sql"), atomically: true, encoding: .utf8)
        try "select 2;".write(to: folder.appendingPathComponent("002_two.sql"), atomically: true, encoding: .utf8)
        try "notes".write(to: folder.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try MigrationFile.load(from: folder).map(\.version), [2, 10])
        try "select 3;".write(to: folder.appendingPathComponent("oops.sql"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try MigrationFile.load(from: folder))
    }

    func testFilesReadTheirTextAsFoundationDecodesIt() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mig-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let texts: [(String, [UInt8])] = [
            ("001_ascii.sql", Array("select 1;\n".utf8)), ("002_unicode.sql", Array("-- ünïcode – 中文 👩‍👩‍👧\nselect 2;".utf8)),
            ("003_bom.sql", [0xEF, 0xBB, 0xBF] + Array("select 3;".utf8)), ("004_empty.sql", []),
            ("005_long.sql", Array(String(repeating: "select 5; -- é\n", count: 20_000).utf8)),
        ]
        for (name, bytes) in texts { try Data(bytes).write(to: folder.appendingPathComponent(name)) }
        let loaded = try MigrationFile.load(from: folder)
        XCTAssertEqual(loaded.map(\.version), [1, 2, 3, 4, 5])
        XCTAssertEqual(loaded.map(\.sql), try texts.map { try String(contentsOf: folder.appendingPathComponent($0.0), encoding: .utf8) })
        try Data([0x73, 0xFF, 0x3B]).write(to: folder.appendingPathComponent("006_invalid.sql"))
        XCTAssertThrowsError(try MigrationFile.load(from: folder), "not UTF-8, as before")
        XCTAssertThrowsError(try MigrationFile.load(from: folder.appendingPathComponent("absent")), "a missing folder, as before")
    }

    func testAppliedVersionWithoutAFileIsRefused() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        try MigrationRunner(files: files([(1, "a", "select 1;"), (2, "b", "select 2;")])).migrate(using: connection)
        XCTAssertThrowsError(try MigrationRunner(files: files([(1, "a", "select 1;")])).migrate(using: connection)) { error in
            guard case .unknownAppliedVersion(2) = error as? MigrationError else { return XCTFail("\(error)") }
        }
    }
}

final class Mutexed<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    func mutate(_ body: (inout Value) -> Void) { lock.lock(); body(&stored); lock.unlock() }
    var value: Value { lock.lock(); defer { lock.unlock() }; return stored }
}

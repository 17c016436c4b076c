import Foundation
import Synchronization

/// Applies `migrations/NNN_name.sql` in order, each in its own transaction, recording each with
/// a SHA-256 checksum of its text in `meta.schema_migrations`.
///
/// A session-level advisory lock makes concurrent runs safe: the second waits, then finds the
/// work done. Checksums are computed by PostgreSQL (`sha256()`), which keeps this module free of
/// any crypto dependency and makes the recorded value checkable with plain SQL.
public struct MigrationRunner: Sendable {
    public struct Status: Sendable, Equatable {
        public let applied: [Int]
        public let pending: [Int]

        public init(applied: [Int], pending: [Int]) {
            self.applied = applied
            self.pending = pending
        }
    }

    /// An arbitrary constant that names "the migration lock" among advisory locks.
    static let advisoryLockKey: Int64 = 0x6D69_6772_6174_65

    public let files: [MigrationFile]
    private let checksums = MigrationChecksums()

    public init(files: [MigrationFile]) {
        self.files = files
    }

    public init(directory: URL) throws {
        self.files = try MigrationFile.load(from: directory)
    }

    /// Applies every pending migration and returns the versions it applied.
    @discardableResult
    public func migrate(using connection: PostgresConnection, log: (String) -> Void = { _ in }) throws -> [Int] {
        try connection.query("select pg_advisory_lock(\(Self.advisoryLockKey))")
        defer { _ = try? connection.query("select pg_advisory_unlock(\(Self.advisoryLockKey))") }
        try ensureBookkeeping(connection)
        let applied = try verifiedApplied(connection)
        var newlyApplied: [Int] = []
        for file in files where applied[file.version] == nil {
            log("applying migration \(file.version)_\(file.name)")
            do {
                try connection.query("begin", step: .begin)
                try connection.executeScript(SQL(unsafeRaw: file.sql))
                try connection.query("""
                    insert into meta.schema_migrations (version, name, checksum)
                    values (\(file.version), \(file.name), encode(sha256(convert_to(\(file.sql), 'UTF8')), 'hex'))
                    """)
                try connection.query("commit", step: .commit)
            } catch let error as DatabaseError {
                _ = try? connection.query("rollback", step: .rollback)
                throw MigrationError.failed(version: file.version, name: file.name, underlying: error)
            }
            newlyApplied.append(file.version)
        }
        return newlyApplied
    }

    /// What is applied and what is pending, after checking every applied file is unchanged.
    public func status(using connection: PostgresConnection) throws -> Status {
        let exists = try connection.query("select to_regclass('meta.schema_migrations') is not null as present")
        guard try exists.first?.decode("present", as: Bool.self) == true else {
            return Status(applied: [], pending: files.map(\.version))
        }
        let applied = try verifiedApplied(connection)
        return Status(applied: applied.keys.sorted(), pending: files.map(\.version).filter { applied[$0] == nil })
    }

    private func ensureBookkeeping(_ connection: PostgresConnection) throws {
        try connection.executeScript("""
            create schema if not exists meta;
            create table if not exists meta.schema_migrations (
                version integer primary key,
                name text not null,
                checksum text not null,
                applied_at timestamptz not null default now()
            );
            """)
    }

    /// Applied versions with their checksums; throws if any applied file changed or vanished.
    ///
    /// The files' checksums are computed by PostgreSQL in one statement the first time and
    /// remembered (the files are read once, at start-up): `/readyz` calls this on every probe, and a
    /// round trip per migration file, each carrying the file's text, was most of its time.
    private func verifiedApplied(_ connection: PostgresConnection) throws -> [Int: String] {
        var applied: [Int: String] = [:]
        for row in try connection.query("select version, checksum from meta.schema_migrations order by version") {
            applied[try row.decode("version")] = try row.decode("checksum", as: String.self)
        }
        let byVersion = Dictionary(uniqueKeysWithValues: files.map { ($0.version, $0) })
        if let unknown = applied.keys.sorted().first(where: { byVersion[$0] == nil }) {
            throw MigrationError.unknownAppliedVersion(unknown)
        }
        let checksums = try fileChecksums(of: applied.keys.compactMap { byVersion[$0] }, connection)
        for (version, checksum) in applied.sorted(by: { $0.key < $1.key }) where checksums[version] != checksum {
            throw MigrationError.checksumMismatch(version: version, name: byVersion[version]?.name ?? "")
        }
        return applied
    }

    /// SHA-256 (hex) of each file's text as PostgreSQL computes it: remembered ones, plus the rest in one statement.
    private func fileChecksums(of wanted: [MigrationFile], _ connection: PostgresConnection) throws -> [Int: String] {
        var known = checksums.withLock { $0 }
        let missing = wanted.filter { known[$0.version] == nil }.sorted { $0.version < $1.version }
        guard !missing.isEmpty else { return known }
        var values: SQL = ""
        for (index, file) in missing.enumerated() {
            values = values + (index == 0 ? "" : ", ") + "(\(file.version)::integer, \(file.sql)::text)"
        }
        for row in try connection.query("""
            select version, encode(sha256(convert_to(sql, 'UTF8')), 'hex') as checksum from (values \(values)) as files (version, sql)
            """) {
            known[try row.decode("version")] = try row.decode("checksum", as: String.self)
        }
        let computed = known
        checksums.withLock { $0.merge(computed) { old, _ in old } }
        return known
    }
}

/// The files' checksums once computed, shared by the copies of a runner (it is a value).
final class MigrationChecksums: Sendable {
    private let state = Mutex<[Int: String]>([:])

    func withLock<Result>(_ body: (inout [Int: String]) -> Result) -> Result {
        state.withLock { body(&$0) }
    }
}

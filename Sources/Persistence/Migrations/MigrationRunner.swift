import Foundation

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
    private func verifiedApplied(_ connection: PostgresConnection) throws -> [Int: String] {
        var applied: [Int: String] = [:]
        for row in try connection.query("select version, checksum from meta.schema_migrations order by version") {
            applied[try row.decode("version")] = try row.decode("checksum", as: String.self)
        }
        let byVersion = Dictionary(uniqueKeysWithValues: files.map { ($0.version, $0) })
        for (version, checksum) in applied.sorted(by: { $0.key < $1.key }) {
            guard let file = byVersion[version] else { throw MigrationError.unknownAppliedVersion(version) }
            let rows = try connection.query("select encode(sha256(convert_to(\(file.sql), 'UTF8')), 'hex') as checksum")
            guard try rows.first?.decode("checksum", as: String.self) == checksum else {
                throw MigrationError.checksumMismatch(version: version, name: file.name)
            }
        }
        return applied
    }
}

import Foundation
import Persistence
import Synchronization

/// A throwaway PostgreSQL cluster for one test run: created in a temporary folder, listening on a
/// free loopback port and a private Unix socket, with fsync off, and removed when the process ends.
/// PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to `postgres`.
public final class TestPostgresCluster: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    private let binDirectory: URL
    private let runAsPostgres: Bool

    /// The cluster shared by every test in this process, started on first use.
    public static var shared: TestPostgresCluster {
        get throws {
            try sharedCluster.withLock { cluster in
                if let cluster { return cluster }
                let started = try TestPostgresCluster()
                cluster = started
                atexit { TestPostgresCluster.removeSharedAtExit() }
                return started
            }
        }
    }

    private static let sharedCluster = Mutex<TestPostgresCluster?>(nil)

    private static func removeSharedAtExit() {
        sharedCluster.withLock { $0?.remove() }
    }

    public init() throws {
        binDirectory = try Self.findBinDirectory()
        runAsPostgres = getuid() == 0
        directory = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("mw-test-pg-\(UUID().uuidString.prefix(8).lowercased())")
        port = try freeLoopbackPort()
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("socket"), withIntermediateDirectories: true)
        if runAsPostgres {
            try run("/bin/chown", ["-R", "postgres:postgres", directory.path], asPostgres: false)
        }
        try run(binDirectory.appendingPathComponent("initdb").path,
                ["-D", dataPath, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
        try start()
    }

    private var dataPath: String { directory.appendingPathComponent("data").path }

    private var serverOptions: String {
        "-p \(port) -k \(directory.appendingPathComponent("socket").path) -c listen_addresses=127.0.0.1 "
            + "-c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
    }

    /// A URL for a database of this cluster as the superuser `postgres`.
    public func url(database: String = "postgres") -> String {
        "postgresql://postgres@127.0.0.1:\(port)/\(database)"
    }

    /// Creates a new, empty database with a unique name and returns its URL.
    public func createDatabase(prefix: String = "test") throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        let admin = try PostgresConnection(url: url())
        try admin.executeScript(SQL(unsafeRaw: "create database \(name)"))
        return url(database: name)
    }

    public func start() throws {
        try run(binDirectory.appendingPathComponent("pg_ctl").path,
                ["-D", dataPath, "-l", directory.appendingPathComponent("server.log").path, "-o", serverOptions, "-w", "start"])
    }

    public func stop() throws {
        try run(binDirectory.appendingPathComponent("pg_ctl").path, ["-D", dataPath, "-m", "fast", "-w", "stop"])
    }

    public func restart() throws {
        try run(binDirectory.appendingPathComponent("pg_ctl").path,
                ["-D", dataPath, "-m", "fast", "-o", serverOptions, "-w", "restart"])
    }

    public func remove() {
        try? stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private func run(_ executable: String, _ arguments: [String], asPostgres: Bool? = nil) throws {
        if asPostgres ?? runAsPostgres {
            try ChildProcess.run("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments)
        } else {
            try ChildProcess.run(executable, arguments)
        }
    }

    private static func findBinDirectory() throws -> URL {
        if let explicit = ProcessInfo.processInfo.environment["PG_BIN"] {
            return URL(fileURLWithPath: explicit)
        }
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw TestSupportError("PostgreSQL server binaries not found under \(root); install `postgresql` or set PG_BIN")
        }
        return URL(fileURLWithPath: "\(root)/\(newest)/bin")
    }
}

public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

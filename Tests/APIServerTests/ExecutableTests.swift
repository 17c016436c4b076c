import Foundation
import TestSupport
import XCTest

/// The built `apiserver` binary, run as a new user would: commands, exit statuses, signals.
final class ExecutableTests: XCTestCase {
    private var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("apiserver").path
    }

    private func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let child = try ChildProcess(binary, arguments, environment: environment)
        let status = child.wait()
        return (status, child.output)
    }

    func testHelpAndVersion() throws {
        let help = try run(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.output.contains("serve") && help.output.contains("migrate") && help.output.contains("worker"))
        let version = try run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.output.hasPrefix("apiserver "))
        XCTAssertEqual(try run(["frobnicate"]).status, 2)
        XCTAssertEqual(try run([]).status, 2)
    }

    func testBadConfigurationExitsWithStatus2AndListsProblems() throws {
        let result = try run(["serve"], environment: ["PORT": "-1", "APP_ENV": "production"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.output.contains("DATABASE_URL is required"))
        XCTAssertTrue(result.output.contains("PORT must be a whole number"))
        XCTAssertTrue(result.output.contains("JWT_SECRET is required in production"))
    }

    func testMigrateThenServeThenStopOnSIGTERM() throws {
        let port = try freeLoopbackPort()
        let environment = [
            "DATABASE_URL": try TestPostgresCluster.shared.createDatabase(prefix: "exe"),
            "APP_ENV": "development", "PORT": String(port), "JWT_SECRET": String(repeating: "k", count: 40),
            "MIGRATIONS_DIR": TestServer.repositoryRoot.appendingPathComponent("migrations").path,
            "PRICING_CATALOG": TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json").path,
            "APP_ENCRYPTION_SECRET": String(repeating: "v", count: 40), "APP_ENCRYPTION_SCRYPT_N": "1024",
        ]
        let migrate = try run(["migrate"], environment: environment)
        XCTAssertEqual(migrate.status, 0, migrate.output)
        XCTAssertTrue(migrate.output.contains("\"migrations complete\""))
        XCTAssertTrue(migrate.output.contains("imported pricing version"), "the shipped catalog is loaded once")

        let serve = try ChildProcess(binary, ["serve"], environment: environment)
        var ready = false
        let deadline = Date().addingTimeInterval(10)
        while !ready && Date() < deadline {
            ready = (try? HTTPTestConnection(port: port).request("GET", "/readyz").status) == 200
            if !ready { usleep(20_000) }
        }
        XCTAssertTrue(ready, serve.output)
        serve.signal(SIGTERM)
        XCTAssertEqual(serve.wait(timeout: 10), 0, serve.output)
        XCTAssertTrue(serve.output.contains("\"msg\":\"stopped\""))
    }

    /// The ranks are parsed beside serving (DeferredTokenizer), so a file that reads but does not
    /// parse is found just after start-up: the process still stops, in order and with status 1,
    /// naming the variable.
    func testARanksFileThatDoesNotParseStopsTheServer() throws {
        let port = try freeLoopbackPort()
        let ranks = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).tiktoken")
        try Data("not a ranks file\n".utf8).write(to: ranks)
        defer { try? FileManager.default.removeItem(at: ranks) }
        let environment = [
            "DATABASE_URL": try TestPostgresCluster.shared.createDatabase(prefix: "exe"),
            "APP_ENV": "development", "PORT": String(port), "JWT_SECRET": String(repeating: "k", count: 40),
            "MIGRATIONS_DIR": TestServer.repositoryRoot.appendingPathComponent("migrations").path,
            "PRICING_CATALOG": TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json").path,
            "APP_ENCRYPTION_SECRET": String(repeating: "v", count: 40), "APP_ENCRYPTION_SCRYPT_N": "1024",
            "TIKTOKEN_O200K_PATH": ranks.path,
        ]
        XCTAssertEqual(try run(["migrate"], environment: environment).status, 0)
        let serve = try ChildProcess(binary, ["serve"], environment: environment)
        XCTAssertEqual(serve.wait(timeout: 10), 1, serve.output)
        XCTAssertTrue(serve.output.contains("TIKTOKEN_O200K_PATH") && serve.output.contains("does not parse"), serve.output)
        // Stopped in order (listener closed, pool closed), not torn down from the parsing thread.
        XCTAssertTrue(serve.output.contains("\"msg\":\"stopped\""), serve.output)
    }
}

import Foundation
import TestSupport
import XCTest

/// `scripts/run.sh` owns what it starts: one instance per data folder, a port held by another
/// program is refused, the banner comes once the server answers, and SIGTERM to the script stops
/// the server and the cluster it started, leaving nothing listening. `APISERVER_BIN` points it at
/// the binary this suite built, so no release build runs here.
final class RunScriptTests: XCTestCase {
    private var dataDirectory = ""
    private var started: [ChildProcess] = []

    override func setUpWithError() throws {
        dataDirectory = NSTemporaryDirectory() + "mw-run-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
    }

    override func tearDown() {
        for child in started where child.wait(timeout: 0) == nil {
            child.signal(SIGKILL)
            child.wait()
        }
        // A cluster a failed test left behind is stopped before its folder goes.
        let control = ["/bin/sh", "-c", "runuser -u postgres -- $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl "
                       + "-D '\(dataDirectory)/postgres/data' -m immediate stop >/dev/null 2>&1 || true"]
        if FileManager.default.fileExists(atPath: dataDirectory + "/postgres/data/postmaster.pid") {
            _ = try? ChildProcess(control[0], Array(control.dropFirst())).wait()
        }
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    private var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("apiserver").path
    }

    private func runScript(port: Int, pgPort: Int) throws -> ChildProcess {
        var environment = ProcessInfo.processInfo.environment
        environment.merge(["APISERVER_BIN": binary, "RUN_DATA_DIR": dataDirectory, "PORT": String(port), "PG_PORT": String(pgPort),
                           "HOST": "127.0.0.1"]) { $1 }
        let child = try ChildProcess("/bin/bash", [TestServer.repositoryRoot.appendingPathComponent("scripts/run.sh").path],
                                     environment: environment)
        started.append(child)
        return child
    }

    /// `scripts/apiserver.sh ARGS` with the same data folder and ports.
    private func cli(_ arguments: [String], pgPort: Int) throws -> (status: Int32?, output: String) {
        var environment = ProcessInfo.processInfo.environment
        environment.merge(["APISERVER_BIN": binary, "RUN_DATA_DIR": dataDirectory, "PG_PORT": String(pgPort)]) { $1 }
        let child = try ChildProcess("/bin/bash", [TestServer.repositoryRoot.appendingPathComponent("scripts/apiserver.sh").path] + arguments,
                                     environment: environment)
        started.append(child)
        return (child.wait(timeout: 60), child.output)
    }

    private func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    private func waitForOutput(_ child: ChildProcess, containing text: String, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if child.output.contains(text) { return true }
            if child.wait(timeout: 0) != nil { return child.output.contains(text) }
            usleep(50_000)
        }
        return false
    }

    func testSIGTERMStopsTheServerAndTheClusterItStartedAndASecondInstanceIsRefused() throws {
        let port = try freeLoopbackPort()
        let pgPort = try freeLoopbackPort()
        let run = try runScript(port: port, pgPort: pgPort)
        XCTAssertTrue(waitForOutput(run, containing: "serving on http://127.0.0.1:\(port)", timeout: 120), run.output)
        XCTAssertTrue(isListening(port), "the banner comes after the server listens")
        XCTAssertTrue(isListening(pgPort))

        // The CLI against the same embedded default, beside the running server.
        let migrate = try cli(["migrate"], pgPort: pgPort)
        XCTAssertEqual(migrate.status, 0, migrate.output)
        XCTAssertTrue(isListening(pgPort), "the CLI leaves run.sh's cluster running")

        let second = try runScript(port: port, pgPort: pgPort)
        XCTAssertEqual(second.wait(timeout: 60), 1, second.output)
        XCTAssertTrue(second.output.contains("another run.sh is already using"), second.output)
        XCTAssertTrue(isListening(port), "the refused instance left the first one alone")

        run.signal(SIGTERM)
        XCTAssertEqual(run.wait(timeout: 60), 0, run.output)
        XCTAssertTrue(run.output.contains("\"stopped\""), "the server shut down gracefully: \(run.output)")
        XCTAssertFalse(isListening(port), "nothing is left on the API port")
        XCTAssertFalse(isListening(pgPort), "the cluster run.sh started is stopped")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dataDirectory + "/postgres/data/postmaster.pid"))

        // Without run.sh the CLI starts the cluster for the command and stops it again.
        let imported = try cli(["pricing", "import", TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json").path],
                               pgPort: pgPort)
        XCTAssertEqual(imported.status, 0, imported.output)
        XCTAssertFalse(isListening(pgPort), "the cluster the CLI started is stopped")
    }

    func testTheCLIScriptNeedsRunShsSecrets() throws {
        let result = try cli(["migrate"], pgPort: try freeLoopbackPort())
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("run scripts/run.sh once first"), result.output)
    }

    func testAPortHeldByAnotherProgramIsRefusedBeforeAnythingStarts() throws {
        let holder = try FakeHTTPServer { _ in FakeHTTPServer.Response(status: 200) }
        defer { holder.stop() }
        let pgPort = try freeLoopbackPort()
        let run = try runScript(port: holder.port, pgPort: pgPort)
        XCTAssertEqual(run.wait(timeout: 60), 1, run.output)
        XCTAssertTrue(run.output.contains("port \(holder.port) on 127.0.0.1 is already in use"), run.output)
        XCTAssertFalse(isListening(pgPort), "no cluster was started")
    }
}

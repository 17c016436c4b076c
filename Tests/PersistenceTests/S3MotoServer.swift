import Crypto
import Foundation
import Persistence
import TestSupport

extension SigV4Primitives {
    /// The Crypto module's functions, as the composition root passes them.
    static let crypto = SigV4Primitives(sha256: { try SHA256.hash($0) },
                                        hmacSHA256: { key, message in try HMACSHA256.mac(for: message, key: key) },
                                        sha256OfFile: { try SHA256.hash(fileAt: $0) })
}

/// moto's S3 server (PyPI `moto[server]`) on a loopback port, for the end-to-end tests.
///
/// scripts/test.sh installs moto into .build/venv, starts one server and exports
/// `S3_TEST_ENDPOINT` (and `S3_TEST_MOTO_SERVER`, the executable). Run by filter without them,
/// the tests start `.build/venv/bin/moto_server` themselves (install it once with
/// `.build/venv/bin/pip install 'moto[server]'`). Without moto the tests fail with that advice;
/// they never skip.
final class S3MotoServer: Sendable {
    let endpoint: String

    private init(endpoint: String) {
        self.endpoint = endpoint
    }

    /// The shared server for the run: `S3_TEST_ENDPOINT`, or one started on first use.
    static func shared() throws -> S3MotoServer {
        try sharedServer.get()
    }

    private static let sharedServer: Result<S3MotoServer, Error> = Result {
        if let endpoint = ProcessInfo.processInfo.environment["S3_TEST_ENDPOINT"], !endpoint.isEmpty {
            return S3MotoServer(endpoint: endpoint)
        }
        return try start(environment: [:])
    }

    /// A server of this test's own, with extra environment (e.g. moto's signature checking).
    static func start(environment extra: [String: String]) throws -> S3MotoServer {
        let executable = try motoExecutable()
        let port = try freeLoopbackPort()
        // A shell watchdog ends moto when the test process goes away, however it ends.
        let script = "\"$0\" -H 127.0.0.1 -p \(port) & m=$!; trap 'kill $m 2>/dev/null' EXIT INT TERM; "
            + "while kill -0 \(getpid()) 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done"
        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { $1 }
        let child = try ChildProcess("/bin/sh", ["-c", script, executable], environment: environment)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if canConnect(port: port) { return S3MotoServer(endpoint: "http://127.0.0.1:\(port)") }
            if child.wait(timeout: 0.2) != nil { break }
        }
        throw TestSupportError("moto_server did not start on port \(port): \(child.output.suffix(2000))")
    }

    private static func motoExecutable() throws -> String {
        let candidates = [ProcessInfo.processInfo.environment["S3_TEST_MOTO_SERVER"],
                          FileManager.default.currentDirectoryPath + "/.build/venv/bin/moto_server"].compactMap { $0 }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestSupportError("moto_server not found (looked at \(candidates.joined(separator: ", "))): the S3 tests need it; "
                + "run bash scripts/test.sh, or `python3 -m venv .build/venv && .build/venv/bin/pip install 'moto[server]'`")
        }
        return found
    }

    /// The Python beside moto_server (its venv has botocore, which moto depends on).
    static func python() throws -> String {
        let python = URL(fileURLWithPath: try motoExecutable()).deletingLastPathComponent().appendingPathComponent("python").path
        guard FileManager.default.isExecutableFile(atPath: python) else { throw TestSupportError("no python beside moto_server at \(python)") }
        return python
    }

    private static func canConnect(port: Int) -> Bool {
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

    /// Creates a bucket with an unsigned path-style PUT (moto accepts anything by default).
    func createBucket(_ name: String) throws {
        try ChildProcess.run("/usr/bin/curl", ["-fsS", "-o", "/dev/null", "-X", "PUT", "\(endpoint)/\(name)"])
    }

    /// A settings value for this server and `bucket` (moto takes any credentials unless told otherwise).
    func settings(bucket: String, addressing: S3Addressing = .path, accessKeyID: String = "AKIDTEST",
                  secret: String = "test-secret") throws -> S3Settings {
        var endpoint = self.endpoint
        if addressing == .virtual {
            // `<bucket>.localhost` resolves to loopback in curl; moto reads the bucket from the host.
            endpoint = endpoint.replacingOccurrences(of: "127.0.0.1", with: "localhost")
        }
        var settings = try S3Settings.validated(endpoint: endpoint, region: "us-east-1", bucket: bucket, accessKeyID: accessKeyID,
                                                secretAccessKey: secret, addressing: addressing.rawValue, requireHTTPS: false).get()
        settings.initialBackoffSeconds = 0.01
        return settings
    }
}

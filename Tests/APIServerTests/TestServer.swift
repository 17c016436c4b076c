@testable import APIServer
import Foundation
import Persistence
import TestSupport
import XCTest

/// The real server, in process, on a free loopback port, over a fresh database of the test cluster.
final class TestServer: @unchecked Sendable {
    let server: HTTPServer
    let environment: ServerEnvironment
    let logLines: LockedLines

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    init(environment overrides: [String: String] = [:], extraRoutes: (ServerEnvironment) -> [Route] = { _ in [] }, migrate: Bool = true) throws {
        let adminURL = try TestPostgresCluster.shared.createDatabase(prefix: "api")
        var variables = [
            "APP_ENV": "test",
            // As deployed: requests run as the least-privilege login role, migrations as the owner.
            "DATABASE_URL": adminURL.replacingOccurrences(of: "postgres@", with: "authenticator@"),
            "MIGRATION_DATABASE_URL": adminURL,
            "JWT_SECRET": Self.jwtSecret,
            "APP_ENCRYPTION_SECRET": Self.encryptionSecret,
            // A small scrypt cost keeps each fresh database's key derivation fast.
            "APP_ENCRYPTION_SCRYPT_N": "1024",
            "BCRYPT_COST": "4",
            "HOST": "127.0.0.1",
            "PORT": "0",
            "MIGRATIONS_DIR": Self.repositoryRoot.appendingPathComponent("migrations").path,
            "OPENAPI_PATH": Self.repositoryRoot.appendingPathComponent("openapi.yaml").path,
            "API_DOCS_PATH": Self.repositoryRoot.appendingPathComponent("docs/api.html").path,
            "CORS_ALLOWED_ORIGINS": "https://app.example.com",
            "HTTP_MAX_BODY_BYTES": "65536",
            "DB_POOL_TIMEOUT_MS": "1000",
            // Tests change sessions, keys, health and budgets with SQL behind the server's back and
            // expect the next admission to see it; the reuse has tests of its own (AdmissionReadReuseTests).
            "ADMISSION_READ_REUSE_MS": "0",
            // Generation outputs of this server only, removed with the temporary folder.
            "STORAGE_DIR": FileManager.default.temporaryDirectory.appendingPathComponent("storage-\(UUID().uuidString)").path,
        ]
        // Tests never reach the internet: every provider's base URL is a closed local port unless
        // a test points it at fake-providers (connections are refused at once: a retryable failure).
        for name in ["OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENROUTER_BASE_URL", "ELEVENLABS_BASE_URL", "RUNWAY_BASE_URL",
                     "GEMINI_BASE_URL", "FAL_QUEUE_BASE_URL", "FAL_API_BASE_URL"] {
            variables[name] = "http://127.0.0.1:9"
        }
        // The test script provides the cl100k ranks file; without it counts are marked estimated.
        if let ranks = ProcessInfo.processInfo.environment["TIKTOKEN_CL100K_PATH"] { variables["TIKTOKEN_CL100K_PATH"] = ranks }
        variables.merge(overrides) { $1 }
        let config = try AppConfig.load(from: variables).get()
        let lines = LockedLines()
        logLines = lines
        let logger = Logger(minimumLevel: .debug) { lines.append($0) }
        let environment = try ServerEnvironment.live(config: config, logger: logger)
        if migrate {
            try environment.migrations.migrate(using: try PostgresConnection(url: config.migrationDatabaseURL))
        }
        self.environment = environment
        server = environment.makeServer(routes: makeRoutes(environment) + extraRoutes(environment))
        if let recorder = ContractRecorder.shared { server.application.observeResponses { recorder.record($0, route: $1, response: $2) } }
        try server.start(host: "127.0.0.1", port: 0)
    }

    static let jwtSecret = "test-jwt-secret-0123456789abcdefghijklmnop"
    static let encryptionSecret = "test-vault-secret-0123456789abcdefghijklmnop"

    var port: Int { server.port }

    func connect() throws -> HTTPTestConnection {
        try HTTPTestConnection(port: port)
    }

    func stop(grace: TimeInterval = 2) {
        server.stop(grace: grace)
        environment.pool.close()
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

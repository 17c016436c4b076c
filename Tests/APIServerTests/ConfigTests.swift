@testable import APIServer
import XCTest

final class ConfigTests: XCTestCase {
    func testDefaultsApplyWhenOnlyTheDatabaseIsGiven() throws {
        let config = try AppConfig.load(from: ["DATABASE_URL": "postgresql://localhost/db", "APP_ENV": "development",
                                               "JWT_SECRET": String(repeating: "s", count: 32),
                                               "APP_ENCRYPTION_SECRET": String(repeating: "e", count: 32)]).get()
        XCTAssertEqual(config.host, "127.0.0.1")
        XCTAssertEqual(config.port, 8080)
        XCTAssertEqual(config.maximumBodyBytes, 1_048_576)
        XCTAssertEqual(config.environment, .development)
        XCTAssertEqual(config.corsAllowedOrigins, [])
        XCTAssertEqual(config.httpThreads, AppConfig.defaultHTTPThreads(cores: ProcessorCount.active))
    }

    /// Handlers block their thread on PostgreSQL and a connection keeps the thread that accepted it,
    /// so the default is many threads a core, never as few as the cores.
    func testTheDefaultHTTPThreadCountIsThirtyTwoACoreBetweenSixtyFourAndTheMaximum() {
        XCTAssertEqual(AppConfig.defaultHTTPThreads(cores: 1), 64)
        XCTAssertEqual(AppConfig.defaultHTTPThreads(cores: 2), 64)
        XCTAssertEqual(AppConfig.defaultHTTPThreads(cores: 4), 128)
        XCTAssertEqual(AppConfig.defaultHTTPThreads(cores: 8), 256)
        XCTAssertEqual(AppConfig.defaultHTTPThreads(cores: 12), 256)
        XCTAssertEqual(AppConfig.defaultHTTPThreads(cores: 64), 256)
        XCTAssertEqual(AppConfig.defaultHTTPThreads(cores: Int.max), 256)
    }

    func testEveryProblemIsListedInOneMessage() {
        let result = AppConfig.load(from: [
            "PORT": "80a", "HTTP_THREADS": "0", "LOG_LEVEL": "loud", "APP_ENV": "staging",
            "CORS_ALLOWED_ORIGINS": "https://ok.example, example.com/", "HOST": "localhost",
        ])
        guard case .failure(let error) = result else { return XCTFail("expected failure") }
        let text = String(describing: error)
        for fragment in ["DATABASE_URL is required", "PORT must be a whole number from 0 to 65535 (got \"80a\")",
                         "HTTP_THREADS must be a whole number from 1 to 256", "LOG_LEVEL has an unknown value \"loud\"",
                         "APP_ENV has an unknown value \"staging\"", "\"example.com/\"", "HOST must be an IPv4 address"] {
            XCTAssertTrue(text.contains(fragment), "missing \(fragment) in:\n\(text)")
        }
        XCTAssertFalse(text.contains("https://ok.example\" —"), "a valid origin is not reported")
        // An unknown APP_ENV falls back to production, whose secrets are then reported missing too.
        XCTAssertEqual(error.problems.count, 9)
    }

    func testProductionRequiresStrongSecretsWithoutEchoingThem() {
        let weak = "changeme-changeme-changeme-changeme"
        let result = AppConfig.load(from: ["DATABASE_URL": "postgresql://db/x", "JWT_SECRET": weak])
        guard case .failure(let error) = result else { return XCTFail("production without strong secrets must fail") }
        let text = String(describing: error)
        XCTAssertTrue(text.contains("JWT_SECRET is too weak: it looks like a placeholder"))
        XCTAssertTrue(text.contains("APP_ENCRYPTION_SECRET is required in production"))
        XCTAssertFalse(text.contains(weak))
        XCTAssertNotNil(try? AppConfig.load(from: ["DATABASE_URL": "postgresql://db/x"], requireSecrets: false).get(),
                        "migrate needs only the database")
        let strong = "Zq8vN2kLp4Rt7Wx1Yc5Bm9Hd3Fg6Js0A"
        XCTAssertNotNil(try? AppConfig.load(from: ["DATABASE_URL": "postgresql://db/x", "JWT_SECRET": strong, "APP_ENCRYPTION_SECRET": strong + "x"]).get())
    }

    func testServeNeedsTheEncryptionSecretInEveryEnvironment() {
        let jwt = String(repeating: "j", count: 32)
        for environment in ["development", "test"] {
            let missing = AppConfig.load(from: ["DATABASE_URL": "postgresql://db/x", "APP_ENV": environment, "JWT_SECRET": jwt])
            guard case .failure(let error) = missing else { return XCTFail("\(environment): serve without APP_ENCRYPTION_SECRET must fail") }
            XCTAssertTrue(String(describing: error).contains("APP_ENCRYPTION_SECRET is required"))
            let short = AppConfig.load(from: ["DATABASE_URL": "postgresql://db/x", "APP_ENV": environment, "JWT_SECRET": jwt,
                                              "APP_ENCRYPTION_SECRET": "too-short-secret"])
            guard case .failure(let shortError) = short else { return XCTFail("a short secret must fail") }
            XCTAssertTrue(String(describing: shortError).contains("APP_ENCRYPTION_SECRET must be at least 32 characters"))
            XCTAssertFalse(String(describing: shortError).contains("too-short-secret"), "the secret is never echoed")
        }
        XCTAssertNotNil(try? AppConfig.load(from: ["DATABASE_URL": "postgresql://db/x", "APP_ENV": "development"], requireSecrets: false).get(),
                        "migrate needs no secrets")
    }

    func testScryptCostIsConfigurableOutsideProductionOnly() throws {
        let base = ["DATABASE_URL": "postgresql://db/x", "JWT_SECRET": String(repeating: "j", count: 32),
                    "APP_ENCRYPTION_SECRET": String(repeating: "e", count: 32), "APP_ENV": "test"]
        XCTAssertEqual(try AppConfig.load(from: base).get().encryptionScryptParameters.description, "scrypt:n=32768,r=8,p=1,len=32")
        XCTAssertEqual(try AppConfig.load(from: base.merging(["APP_ENCRYPTION_SCRYPT_N": "1024"]) { $1 }).get().encryptionScryptParameters.n, 1024)
        XCTAssertNil(try? AppConfig.load(from: base.merging(["APP_ENCRYPTION_SCRYPT_N": "1000"]) { $1 }).get(), "not a power of two")
        let strong = "Zq8vN2kLp4Rt7Wx1Yc5Bm9Hd3Fg6Js0A"
        let production = AppConfig.load(from: ["DATABASE_URL": "postgresql://db/x", "JWT_SECRET": strong, "APP_ENCRYPTION_SECRET": strong + "x",
                                                "APP_ENCRYPTION_SCRYPT_N": "1024"])
        guard case .failure(let error) = production else { return XCTFail("production must refuse a lowered scrypt cost") }
        XCTAssertTrue(String(describing: error).contains("APP_ENCRYPTION_SCRYPT_N is for development and tests only"))
        let previous = try AppConfig.load(from: base.merging(["APP_ENCRYPTION_SECRET_PREVIOUS": String(repeating: "p", count: 32)]) { $1 }).get()
        XCTAssertEqual(previous.encryptionSecretPrevious, String(repeating: "p", count: 32))
    }
}

/// Hardening (issue #12): bounded numbers, credentials never echoed, https in production, and the
/// previous encryption secret held to the current one's rules.
final class ConfigHardeningTests: XCTestCase {
    private let strong = "Zq8vN2kLp4Rt7Wx1Yc5Bm9Hd3Fg6Js0A"
    private var development: [String: String] {
        ["DATABASE_URL": "postgresql://db/x", "APP_ENV": "development",
         "JWT_SECRET": String(repeating: "j", count: 32), "APP_ENCRYPTION_SECRET": String(repeating: "e", count: 32)]
    }
    private var production: [String: String] {
        ["DATABASE_URL": "postgresql://db/x", "JWT_SECRET": strong, "APP_ENCRYPTION_SECRET": strong + "x"]
    }

    private func problems(_ env: [String: String], requireSecrets: Bool = true) -> String? {
        guard case .failure(let error) = AppConfig.load(from: env, requireSecrets: requireSecrets) else { return nil }
        return String(describing: error)
    }

    /// The numeric variables known today; any other variable that answers "must be a whole number
    /// from L to U" is found by the sweep below and held to the same documentation rule.
    private let knownNumeric = ["PORT", "HTTP_THREADS", "HTTP_CONNECTION_TIMEOUT_SECONDS", "HTTP_MAX_CONNECTIONS",
                                "HTTP_MAX_CONNECTIONS_PER_IP", "HTTP_MAX_HEADER_BYTES", "HTTP_MAX_BODY_BYTES", "DB_POOL_SIZE",
                                "DB_POOL_TIMEOUT_MS", "SHUTDOWN_GRACE_SECONDS", "JWT_EXPIRY_SECONDS", "PASSWORD_MIN_LENGTH",
                                "BCRYPT_COST", "REFRESH_TOKEN_REUSE_INTERVAL_SECONDS"]

    func testEveryNumericVariableIsBoundedWithoutTrappingAndItsRangeIsDocumented() throws {
        let envExample = try String(contentsOf: TestServer.repositoryRoot.appendingPathComponent(".env.example"), encoding: .utf8)
            .components(separatedBy: "\n")
        let readme = try String(contentsOf: TestServer.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
            .components(separatedBy: "\n")
        var found: [String: (Int, Int)] = [:]
        // Every variable, given values that overflow Int or are not numbers: a listed problem, never a trap.
        for name in AppConfig.variableNames {
            for hostile in ["99999999999999999999", "-99999999999999999999", "1e3", "NaN", "0x10"] {
                guard let text = problems(development.merging([name: hostile]) { $1 }) else { continue }
                let prefix = "\(name) must be a whole number from "
                guard let line = text.components(separatedBy: "\n").first(where: { $0.contains(prefix) }) else { continue }
                let bounds = line.components(separatedBy: prefix)[1].components(separatedBy: " ")
                XCTAssertGreaterThanOrEqual(bounds.count, 3, line)
                guard bounds.count >= 3, let lower = Int(bounds[0]), let upper = Int(bounds[2]) else { continue }
                found[name] = (lower, upper)
            }
        }
        XCTAssertEqual(Set(knownNumeric).subtracting(found.keys), [], "each refuses a huge value with its range")
        XCTAssertTrue(problems(development.merging(["APP_ENCRYPTION_SCRYPT_N": "99999999999999999999"]) { $1 })?
            .contains("APP_ENCRYPTION_SCRYPT_N must be a power of two from 2 to 1048576") ?? false)

        for (name, (lower, upper)) in found.sorted(by: { $0.key < $1.key }) {
            XCTAssertNil(problems(development.merging([name: String(upper)]) { $1 }), "\(name)=\(upper) is inside the range")
            XCTAssertNotNil(problems(development.merging([name: String(upper + 1)]) { $1 }), "\(name)=\(upper + 1)")
            XCTAssertNotNil(problems(development.merging([name: String(lower - 1)]) { $1 }), "\(name)=\(lower - 1)")
            // .env.example: the comment lines right above `NAME=` state the range.
            let documented = "Range: \(lower) to \(upper)."
            if let index = envExample.firstIndex(where: { $0.hasPrefix("\(name)=") }) {
                let comments = envExample[..<index].reversed().prefix { $0.hasPrefix("#") }
                XCTAssertTrue(comments.contains { $0.contains(documented) }, ".env.example: \(name) needs \"\(documented)\"")
            } else {
                XCTFail(".env.example lacks \(name)")
            }
            XCTAssertTrue(readme.contains { $0.contains("`\(name)`") && $0.contains("\(lower) to \(upper)") },
                          "README: a line with `\(name)` and \(lower) to \(upper)")
        }
    }

    func testAccessTokensLiveAtMostADay() throws {
        XCTAssertEqual(try AppConfig.load(from: development.merging(["JWT_EXPIRY_SECONDS": "86400"]) { $1 }).get().jwtLifetimeSeconds, 86400)
        XCTAssertTrue(problems(development.merging(["JWT_EXPIRY_SECONDS": "86401"]) { $1 })?
            .contains("JWT_EXPIRY_SECONDS must be a whole number from 30 to 86400") ?? false)
    }

    func testConfigErrorsNeverShowTheCredentialsOfAURL() throws {
        let password = "Sup3r-S3cret-pw"
        let cases: [(String, String, String?)] = [
            ("DATABASE_URL", "postgresql://app:\(password)@db.internal:99999/app", "postgresql://app:***@db.internal:99999/app"),
            ("DATABASE_URL", "mysql://app:\(password)@db.internal/app?sslmode=require", "mysql://app:***@db.internal/app"),
            ("MIGRATION_DATABASE_URL", "postgres://owner:\(password)@db.internal:0/app", "postgres://owner:***@db.internal:0/app"),
            ("DATABASE_URL", "postgresql://db.internal:5432x/app?user=app&password=\(password)", "password=***"),
            ("OPENAI_BASE_URL", "ftp://proxy:\(password)@proxy.internal/v1", "ftp://proxy:***@proxy.internal/v1"),
        ]
        for (name, value, shown) in cases {
            let text = try XCTUnwrap(problems(development.merging([name: value]) { $1 }), "\(name)=\(value) must be refused")
            XCTAssertTrue(text.contains(name), text)
            XCTAssertFalse(text.contains(password), "the password leaked:\n\(text)")
            XCTAssertFalse(text.contains("S3cret"), "part of the password leaked:\n\(text)")
            if let shown { XCTAssertTrue(text.contains(shown), "expected \(shown) in:\n\(text)") }
        }
        XCTAssertNotNil(try? AppConfig.load(from: development.merging(["DATABASE_URL": "postgresql://app:\(password)@db.internal:5432/app"]) { $1 }).get(),
                        "control: a good URL with a password is accepted")
        XCTAssertEqual(redactingCredentials("host=db password='a b\\'c' user=app"), "host=db password=*** user=app")
        XCTAssertEqual(redactingCredentials("see postgresql://u:p@h/d and https://x.example"), "see postgresql://u:***@h/d and https://x.example")
    }

    func testPlainHTTPProviderURLsAreRefusedInProductionOnly() throws {
        let plain = ["OPENAI_BASE_URL": "http://127.0.0.1:9000/v1", "FAL_API_BASE_URL": "http://proxy.example.com/v1"]
        let text = try XCTUnwrap(problems(production.merging(plain) { $1 }))
        XCTAssertTrue(text.contains("OPENAI_BASE_URL must be an https URL in production"), text)
        XCTAssertTrue(text.contains("FAL_API_BASE_URL must be an https URL in production"), text)
        XCTAssertNotNil(try? AppConfig.load(from: production.merging(["OPENAI_BASE_URL": "https://proxy.example.com/v1"]) { $1 }).get())
        for environment in ["development", "test"] {
            let config = try AppConfig.load(from: development.merging(plain.merging(["APP_ENV": environment]) { $1 }) { $1 }).get()
            XCTAssertEqual(config.providerEndpoints.openAI, "http://127.0.0.1:9000/v1", environment)
            XCTAssertEqual(config.providerEndpoints.falAPI, "http://proxy.example.com/v1", environment)
        }
    }

    func testThePreviousEncryptionSecretIsCheckedLikeTheCurrentOne() throws {
        let placeholder = "changeme-changeme-changeme-changeme"
        let weak = try XCTUnwrap(problems(production.merging(["APP_ENCRYPTION_SECRET_PREVIOUS": placeholder]) { $1 }))
        XCTAssertTrue(weak.contains("APP_ENCRYPTION_SECRET_PREVIOUS is too weak: it looks like a placeholder"), weak)
        XCTAssertFalse(weak.contains(placeholder))
        let repetitive = try XCTUnwrap(problems(production.merging(["APP_ENCRYPTION_SECRET_PREVIOUS": String(repeating: "ab", count: 20)]) { $1 }))
        XCTAssertTrue(repetitive.contains("APP_ENCRYPTION_SECRET_PREVIOUS is too weak"), repetitive)
        let short = try XCTUnwrap(problems(development.merging(["APP_ENCRYPTION_SECRET_PREVIOUS": "too-short-secret"]) { $1 }))
        XCTAssertTrue(short.contains("APP_ENCRYPTION_SECRET_PREVIOUS must be at least 32 characters"), short)
        XCTAssertFalse(short.contains("too-short-secret"))
        XCTAssertNotNil(try? AppConfig.load(from: production.merging(["APP_ENCRYPTION_SECRET_PREVIOUS": strong + "p"]) { $1 }).get())
        XCTAssertNil(problems(production.merging(["APP_ENCRYPTION_SECRET_PREVIOUS": "short"]) { $1 }, requireSecrets: false),
                     "migrate checks no secret, previous or current")
    }
}

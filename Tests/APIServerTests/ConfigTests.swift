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

@testable import APIServer
import Persistence
import XCTest

/// STORAGE_BACKEND and the S3_* variables: checked at start-up with the rest of the
/// configuration, each problem named, the secret key never shown.
final class StorageConfigTests: XCTestCase {
    private let base = ["DATABASE_URL": "postgresql://localhost/db", "APP_ENV": "development",
                        "JWT_SECRET": String(repeating: "s", count: 32), "APP_ENCRYPTION_SECRET": String(repeating: "e", count: 32)]
    private let secret = "Sup3rSecretValue/ForTheBucket+xyz"

    private func s3(_ overrides: [String: String]) -> [String: String] {
        base.merging(["STORAGE_BACKEND": "s3", "S3_ENDPOINT": "https://s3.eu-west-1.amazonaws.com", "S3_REGION": "eu-west-1",
                      "S3_BUCKET": "media-workspace", "S3_ACCESS_KEY_ID": "AKIAEXAMPLE123", "S3_SECRET_ACCESS_KEY": secret]) { $1 }
            .merging(overrides) { $1 }
    }

    private func problems(_ env: [String: String]) -> String? {
        guard case let .failure(error) = AppConfig.load(from: env) else { return nil }
        return String(describing: error)
    }

    func testLocalFilesAreTheDefault() throws {
        let config = try AppConfig.load(from: base).get()
        guard case .local = config.storageBackend else { return XCTFail("expected local, got \(config.storageBackend)") }
    }

    func testACompleteS3ConfigurationIsAcceptedAndItsDescriptionHidesTheSecret() throws {
        let config = try AppConfig.load(from: s3(["S3_ADDRESSING": "virtual", "S3_ENDPOINT": "https://s3.eu-west-1.amazonaws.com:443/"])).get()
        guard case let .s3(settings) = config.storageBackend else { return XCTFail("expected s3") }
        XCTAssertEqual(settings.scheme, "https")
        XCTAssertEqual(settings.host, "s3.eu-west-1.amazonaws.com")
        XCTAssertEqual(settings.region, "eu-west-1")
        XCTAssertEqual(settings.bucket, "media-workspace")
        XCTAssertEqual(settings.addressing, .virtual)
        XCTAssertEqual(settings.credentials.accessKeyID, "AKIAEXAMPLE123")
        for text in [String(describing: config.storageBackend), String(describing: settings), String(describing: settings.credentials),
                     String(reflecting: settings.credentials)] {
            XCTAssertFalse(text.contains(secret), text)
        }
        XCTAssertTrue(String(describing: settings).contains("secretAccessKey: ***"))
        let defaults = try AppConfig.load(from: s3(["S3_REGION": ""])).get()
        guard case let .s3(defaulted) = defaults.storageBackend else { return XCTFail("expected s3") }
        XCTAssertEqual(defaulted.region, "us-east-1")
        XCTAssertEqual(defaulted.addressing, .path)
    }

    func testMissingS3ValuesAreEachNamed() throws {
        let text = try XCTUnwrap(problems(base.merging(["STORAGE_BACKEND": "s3"]) { $1 }))
        for name in ["S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] {
            XCTAssertTrue(text.contains("\(name) is required when STORAGE_BACKEND=s3"), text)
        }
    }

    func testBadValuesAreRefusedWithoutEchoingTheSecret() throws {
        let cases: [([String: String], String)] = [
            (["STORAGE_BACKEND": "ftp"], "STORAGE_BACKEND must be local or s3"),
            (["S3_ENDPOINT": "s3.amazonaws.com"], "S3_ENDPOINT must be an http(s) URL"),
            (["S3_ENDPOINT": "https://s3.amazonaws.com/prefix"], "S3_ENDPOINT must be an http(s) URL"),
            (["S3_ENDPOINT": "https://user:pw@s3.amazonaws.com"], "S3_ENDPOINT must be an http(s) URL"),
            (["S3_ENDPOINT": "https://s3.amazonaws.com:70000"], "S3_ENDPOINT"),
            (["S3_REGION": "EU West"], "S3_REGION must be 1-64 lowercase letters"),
            (["S3_BUCKET": "ab"], "S3_BUCKET must be 3-63 characters"),
            (["S3_BUCKET": "Media_Bucket"], "S3_BUCKET may hold only lowercase letters"),
            (["S3_BUCKET": "192.168.1.10"], "S3_BUCKET must not be formatted as an IP address"),
            (["S3_BUCKET": "-media"], "S3_BUCKET must begin and end with a letter or digit"),
            (["S3_BUCKET": "my.media", "S3_ADDRESSING": "virtual"], "S3_ADDRESSING=virtual needs a bucket name without dots"),
            (["S3_ADDRESSING": "subdomain"], "S3_ADDRESSING must be path or virtual"),
            (["S3_ACCESS_KEY_ID": "AKIA/BAD"], "S3_ACCESS_KEY_ID must be 1-128 visible ASCII characters"),
            (["S3_SECRET_ACCESS_KEY": secret + " with space"], "S3_SECRET_ACCESS_KEY must be 1-256 visible ASCII characters (its value is not shown)"),
            (["S3_SECRET_ACCESS_KEY": String(repeating: "k", count: 257)], "S3_SECRET_ACCESS_KEY must be 1-256"),
        ]
        XCTAssertEqual(cases.count, 15)
        var refused = 0
        for (overrides, expected) in cases {
            guard let text = problems(s3(overrides)) else {
                XCTFail("\(overrides) was accepted")
                continue
            }
            XCTAssertTrue(text.contains(expected), "\(overrides): \(text)")
            XCTAssertFalse(text.contains(secret), "the secret is never shown: \(text)")
            XCTAssertFalse(text.contains(":pw@"), "credentials in a URL are not shown: \(text)")
            refused += 1
        }
        XCTAssertEqual(refused, cases.count)
    }

    func testProductionRefusesAPlainHTTPEndpoint() throws {
        let production = s3(["APP_ENV": "production", "S3_ENDPOINT": "http://minio.internal:9000"])
        XCTAssertTrue(problems(production)?.contains("S3_ENDPOINT must be an https URL in production") ?? false)
        let development = try AppConfig.load(from: s3(["S3_ENDPOINT": "http://127.0.0.1:9000"])).get()
        guard case let .s3(settings) = development.storageBackend else { return XCTFail("expected s3") }
        XCTAssertEqual(settings.port, 9000)
    }

    func testTheEngineGetsTheS3StoreWhenConfigured() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("storage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try AppConfig.load(from: s3([:])).get()
        XCTAssertTrue(try config.storageBackend.makeBlobStore(storageDirectory: directory) is S3BlobStore)
        XCTAssertTrue(try StorageBackend.local.makeBlobStore(storageDirectory: directory) is LocalBlobStore)
    }
}

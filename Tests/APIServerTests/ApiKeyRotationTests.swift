@testable import APIServer
import Crypto
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// `rotate-encryption-key`'s engine on 1,000 stored keys: interrupted half-way, then resumed.
final class ApiKeyRotationTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        // Rotations at scale store up to a thousand keys for one account, past the default API_KEYS_PER_USER.
        server = try TestServer(environment: ["API_KEYS_PER_USER": "1000"])
    }

    override func tearDown() {
        server?.stop()
    }

    private static let newSecret = "rotated-vault-secret-9876543210zyxwvutsrqponm"

    private func claims(_ userID: UUID) -> String {
        #"{"sub":"\#(userID.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#
    }

    /// A vault as a process configured with `secret` (and `previous`) would build it, over the same database.
    private func sealer(secret: String, previous: String?) -> CryptoApiKeySealer {
        var config = server.environment.config
        config.encryptionSecret = secret
        config.encryptionSecretPrevious = previous
        return CryptoApiKeySealer(keys: ServerEnvironment.vaultKeySource(config: config, maintenance: server.environment.vaultMaintenance))
    }

    private func versions() throws -> [Int64: Int] {
        let rows = try server.environment.pool.withServiceRole { transaction in
            try transaction.query("select key_version, count(*)::int as n from public.user_api_keys group by 1")
        }
        return Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode("key_version", as: Int64.self), try $0.decode("n", as: Int.self)) })
    }

    private func allRows() throws -> [SealedApiKey] {
        try server.environment.pool.withServiceRole { transaction in
            try transaction.query("select id, user_id, provider, ciphertext from public.user_api_keys")
        }.map { SealedApiKey(id: try $0.decode("id"), userID: try $0.decode("user_id"),
                             provider: ProviderID(rawValue: try $0.decode("provider"))!, ciphertext: try $0.decode("ciphertext")) }
    }

    func testRotationOfAThousandKeysInterruptedHalfWayThenResumedLosesNothing() throws {
        let users = try ["rot-a@example.com", "rot-b@example.com"].map { try server.signUp($0) }
        var expected: [UUID: String] = [:]
        let providers: [ProviderID] = [.openai, .anthropic, .openrouter, .runway]
        for index in 0..<1000 {
            let session = users[index % 2]
            let userID = UUID(uuidString: session.userID)!
            let provider = providers[index % providers.count]
            let key = ApiKeyTests.sampleKey(provider)
            let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims(userID))
            let record = try server.environment.vault.create(identity, provider: provider.rawValue, label: "k\(index)", key: key)
            expected[record.id] = key
        }
        let oldSealer = CryptoApiKeySealer(keys: server.environment.vaultKeys)
        let oldVersion = try oldSealer.currentKeyVersion()
        XCTAssertEqual(try versions(), [Int64(oldVersion): 1000])

        let rotating = sealer(secret: Self.newSecret, previous: TestServer.encryptionSecret)
        let newVersion = try rotating.currentKeyVersion()
        XCTAssertNotEqual(newVersion, oldVersion)
        let rotation = KeyRotation(store: server.environment.vaultMaintenance, sealer: rotating)

        // "Crash" after five batches of 100: each batch committed on its own.
        let first = try rotation.run(batchSize: 100, maximumBatches: 5)
        XCTAssertEqual(first.rotated, 500)
        XCTAssertEqual(first.alreadyCurrent, 0)
        XCTAssertEqual(first.failed, 0)
        XCTAssertFalse(first.finished)
        XCTAssertEqual(try versions(), [Int64(oldVersion): 500, Int64(newVersion): 500])

        // Half-way, every key opens with the keyring that holds both secrets.
        for row in try allRows() {
            let binding = ApiKeyBinding(userID: row.userID, keyID: row.id, provider: row.provider)
            XCTAssertEqual(try rotating.open(row.ciphertext, binding: binding).plaintext, expected[row.id])
        }
        // A duplicate is still caught while fingerprints exist under both keys.
        let sample = try XCTUnwrap(try allRows().first { try oldSealer.currentKeyVersion() == SealedEnvelopeVersion.of($0.ciphertext) })
        let duplicateVault = KeyVault(store: PostgresApiKeyStore(pool: server.environment.pool, maximumKeysPerUser: server.environment.config.apiKeysPerUser), sealer: rotating)
        XCTAssertThrowsError(try duplicateVault.create(
            AuthenticatedIdentity(userID: sample.userID, sessionID: nil, role: "authenticated", claimsJSON: claims(sample.userID)),
            provider: sample.provider.rawValue, label: "again", key: expected[sample.id])) { error in
            guard case DomainError.conflict(let code, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(code, "duplicate_key")
        }

        // Resume: the rest is done, nothing twice.
        let second = try rotation.run(batchSize: 100)
        XCTAssertEqual(second.rotated, 500)
        XCTAssertEqual(second.alreadyCurrent, 500)
        XCTAssertEqual(second.failed, 0)
        XCTAssertTrue(second.finished)
        XCTAssertEqual(try versions(), [Int64(newVersion): 1000])

        // Finished: the new secret alone opens every key, and the old alone opens none.
        let newOnly = sealer(secret: Self.newSecret, previous: nil)
        for row in try allRows() {
            let binding = ApiKeyBinding(userID: row.userID, keyID: row.id, provider: row.provider)
            XCTAssertEqual(try newOnly.open(row.ciphertext, binding: binding).plaintext, expected[row.id])
            XCTAssertThrowsError(try oldSealer.open(row.ciphertext, binding: binding))
        }
        // Fingerprints were recomputed: the new key alone still detects duplicates.
        let newVault = KeyVault(store: PostgresApiKeyStore(pool: server.environment.pool, maximumKeysPerUser: server.environment.config.apiKeysPerUser), sealer: newOnly)
        XCTAssertThrowsError(try newVault.create(
            AuthenticatedIdentity(userID: sample.userID, sessionID: nil, role: "authenticated", claimsJSON: claims(sample.userID)),
            provider: sample.provider.rawValue, label: "again", key: expected[sample.id]))

        let third = try rotation.run(batchSize: 100)
        XCTAssertEqual(third.rotated, 0)
        XCTAssertEqual(third.alreadyCurrent, 1000)
        XCTAssertTrue(third.finished)
    }

    func testAKeyThatOpensUnderNeitherSecretIsReportedAndKept() throws {
        let session = try server.signUp("rot-bad@example.com")
        let userID = UUID(uuidString: session.userID)!
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims(userID))
        let good = try server.environment.vault.create(identity, provider: "openai", label: "good", key: ApiKeyTests.sampleKey(.openai))
        let bad = try server.environment.vault.create(identity, provider: "openai", label: "bad", key: ApiKeyTests.sampleKey(.openai))
        try server.environment.pool.withServiceRole { transaction in
            try transaction.query("""
                update public.user_api_keys set ciphertext = (select ciphertext from public.user_api_keys where id = \(good.id))
                where id = \(bad.id)
                """)
        }
        let before = try server.environment.pool.withServiceRole {
            try $0.query("select ciphertext from public.user_api_keys where id = \(bad.id)")[0].decode("ciphertext", as: Data.self)
        }
        let report = try KeyRotation(store: server.environment.vaultMaintenance,
                                     sealer: sealer(secret: Self.newSecret, previous: TestServer.encryptionSecret)).run(batchSize: 1)
        XCTAssertEqual(report.rotated, 1)
        XCTAssertEqual(report.failed, 1)
        XCTAssertTrue(report.finished)
        let after = try server.environment.pool.withServiceRole {
            try $0.query("select ciphertext from public.user_api_keys where id = \(bad.id)")[0].decode("ciphertext", as: Data.self)
        }
        XCTAssertEqual(before, after, "an unopenable row is left exactly as it was")
    }
}

extension ApiKeyRotationTests {
    func testADuplicateMadeDuringRotationIsRefusedNotFatal() throws {
        let session = try server.signUp("rot-dup@example.com")
        let userID = UUID(uuidString: session.userID)!
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims(userID))
        let key = ApiKeyTests.sampleKey(.anthropic)
        let original = try server.environment.vault.create(identity, provider: "anthropic", label: "old", key: key)
        // A misconfigured server that knows only the new secret cannot see the old fingerprint.
        let newOnly = KeyVault(store: PostgresApiKeyStore(pool: server.environment.pool, maximumKeysPerUser: server.environment.config.apiKeysPerUser), sealer: sealer(secret: Self.newSecret, previous: nil))
        _ = try newOnly.create(identity, provider: "anthropic", label: "again", key: key)
        let report = try KeyRotation(store: server.environment.vaultMaintenance,
                                     sealer: sealer(secret: Self.newSecret, previous: TestServer.encryptionSecret)).run()
        XCTAssertEqual(report.rotated, 0)
        XCTAssertEqual(report.alreadyCurrent, 1)
        XCTAssertEqual(report.failed, 1, "the colliding row is reported, left under the old key, and still opens with it")
        XCTAssertTrue(report.finished)
        let row = try XCTUnwrap(try allRows().first { $0.id == original.id })
        XCTAssertEqual(try CryptoApiKeySealer(keys: server.environment.vaultKeys)
            .open(row.ciphertext, binding: ApiKeyBinding(userID: userID, keyID: original.id, provider: .anthropic)).plaintext, key)
    }
}

extension RotateCommandTests {
    /// SIGKILL the command mid-run (no clean shutdown, a batch in flight), then run it again.
    func testAKilledRotationLosesNothingAndTheNextRunFinishesIt() throws {
        let server = try TestServer(environment: ["API_KEYS_PER_USER": "1000"])
        defer { server.stop() }
        let session = try server.signUp("kill@example.com")
        let userID = try XCTUnwrap(UUID(uuidString: session.userID))
        let claims = #"{"sub":"\#(session.userID)","role":"authenticated"}"#
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
        var expected: [UUID: String] = [:]
        for index in 0..<1000 {
            let key = ApiKeyTests.sampleKey(.openai)
            expected[try server.environment.vault.create(identity, provider: "openai", label: "k\(index)", key: key).id] = key
        }
        let newSecret = "killed-rotation-secret-0123456789abcdefghijkl"
        let environment = ["APP_ENV": "test", "DATABASE_URL": server.environment.config.databaseURL,
                           "APP_ENCRYPTION_SECRET": newSecret, "APP_ENCRYPTION_SECRET_PREVIOUS": TestServer.encryptionSecret]
        var config = server.environment.config
        config.encryptionSecret = newSecret
        config.encryptionSecretPrevious = TestServer.encryptionSecret
        let both = CryptoApiKeySealer(keys: ServerEnvironment.vaultKeySource(config: config, maintenance: server.environment.vaultMaintenance))
        let newVersion = try both.currentKeyVersion()
        let pool = server.environment.pool
        func rotatedCount() throws -> Int { try server.environment.vaultMaintenance.count(onKeyVersion: newVersion) }

        let child = try ChildProcess(binary, ["rotate-encryption-key", "--batch-size=1"], environment: environment)
        defer { try? FileManager.default.removeItem(atPath: child.outputPath) }
        let deadline = Date().addingTimeInterval(20)
        while try rotatedCount() < 50, Date() < deadline, child.wait(timeout: 0.005) == nil {}
        child.signal(SIGKILL)
        _ = child.wait()
        let afterKill = try rotatedCount()
        XCTAssertGreaterThan(afterKill, 0)

        // Whatever the kill interrupted, every key still opens while both secrets are held.
        let rows = try pool.withServiceRole { try $0.query("select id, user_id, provider, ciphertext from public.user_api_keys") }
        XCTAssertEqual(rows.count, 1000)
        for row in rows {
            let id = try row.decode("id", as: UUID.self)
            XCTAssertEqual(try both.open(try row.decode("ciphertext"), binding: ApiKeyBinding(userID: userID, keyID: id, provider: .openai)).plaintext,
                           expected[id])
        }

        let resumed = try ChildProcess(binary, ["rotate-encryption-key"], environment: environment)
        defer { try? FileManager.default.removeItem(atPath: resumed.outputPath) }
        XCTAssertEqual(resumed.wait(), 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("\"rotated\":\(1000 - afterKill)") || afterKill == 1000, resumed.output)
        XCTAssertTrue(resumed.output.contains("\"failed\":0"), resumed.output)
        XCTAssertEqual(try rotatedCount(), 1000)
        print("rotation killed after \(afterKill) of 1000 rows; the second run rotated the rest")
    }
}

/// The key version an envelope names (bytes 1...4, big-endian), read without the Crypto module.
enum SealedEnvelopeVersion {
    static func of(_ ciphertext: Data) -> UInt32 {
        ciphertext.dropFirst().prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }
}

/// `apiserver rotate-encryption-key` as an operator runs it, then a server on the new secret alone.
final class RotateCommandTests: XCTestCase {
    private var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("apiserver").path
    }

    func testTheCommandRotatesEveryKeyAndTheServerThenNeedsOnlyTheNewSecret() throws {
        let server = try TestServer()
        let session = try server.signUp("cli@example.com")
        var keys: [String] = []
        for index in 0..<25 {
            let key = ApiKeyTests.sampleKey(.openrouter)
            keys.append(key)
            let response = try server.post("/v1/api-keys", ["provider": "openrouter", "label": "k\(index)", "key": key], token: session.accessToken)
            XCTAssertEqual(response.status, 201)
        }
        server.stop()
        let config = server.environment.config
        let newSecret = "cli-rotated-secret-abcdefghijklmnopqrstuvwxyz0123"
        let base = ["APP_ENV": "test", "DATABASE_URL": config.databaseURL]

        func run(_ arguments: [String], _ environment: [String: String]) throws -> (status: Int32, output: String) {
            let child = try ChildProcess(binary, arguments, environment: environment)
            defer { try? FileManager.default.removeItem(atPath: child.outputPath) }
            let status = child.wait()
            return (status, child.output)
        }

        let withoutPrevious = try run(["rotate-encryption-key"], base.merging(["APP_ENCRYPTION_SECRET": newSecret]) { $1 })
        XCTAssertEqual(withoutPrevious.status, 2)
        XCTAssertTrue(withoutPrevious.output.contains("APP_ENCRYPTION_SECRET_PREVIOUS"), withoutPrevious.output)
        XCTAssertEqual(try run(["rotate-encryption-key", "--batch-size=0"], base).status, 2)

        let rotating = base.merging(["APP_ENCRYPTION_SECRET": newSecret, "APP_ENCRYPTION_SECRET_PREVIOUS": TestServer.encryptionSecret]) { $1 }
        let result = try run(["rotate-encryption-key", "--batch-size=10"], rotating)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("\"rotated\":25"), result.output)
        XCTAssertTrue(result.output.contains("\"already_current\":0"), result.output)
        XCTAssertTrue(result.output.contains("\"failed\":0"), result.output)
        XCTAssertNil(KeyLeakDetector(keys: keys).leak(in: result.output), "a piece of a key in the command's output")
        let again = try run(["rotate-encryption-key"], rotating)
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.output.contains("\"rotated\":0") && again.output.contains("\"already_current\":25"), again.output)

        // A server that knows only the new secret opens every key; one that knows only the old opens none.
        var newConfig = config
        newConfig.encryptionSecret = newSecret
        newConfig.encryptionSecretPrevious = nil
        let pool = ConnectionPool(.init(url: config.databaseURL, maximumConnections: 1))
        defer { pool.close() }
        let maintenance = PostgresVaultMaintenance(pool: pool)
        let vault = KeyVault(store: PostgresApiKeyStore(pool: pool),
                             sealer: CryptoApiKeySealer(keys: ServerEnvironment.vaultKeySource(config: newConfig, maintenance: maintenance)))
        let userID = try XCTUnwrap(UUID(uuidString: session.userID))
        let claims = #"{"sub":"\#(session.userID)","role":"authenticated"}"#
        XCTAssertTrue(keys.contains(try vault.decryptedKey(userID: userID, claimsJSON: claims, provider: .openrouter).plaintext))
        let oldVault = KeyVault(store: PostgresApiKeyStore(pool: pool),
                                sealer: CryptoApiKeySealer(keys: ServerEnvironment.vaultKeySource(config: config, maintenance: maintenance)))
        XCTAssertThrowsError(try oldVault.decryptedKey(userID: userID, claimsJSON: claims, provider: .openrouter)) { error in
            guard case KeyVaultError.unopenable = error else { return XCTFail("\(error)") }
        }
    }
}

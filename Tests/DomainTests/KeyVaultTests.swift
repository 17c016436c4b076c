import Domain
import Foundation
import Synchronization
import XCTest

/// The vault's rules with in-memory fakes: shapes, validation, fallback, rotation bookkeeping.
final class KeyVaultTests: XCTestCase {
    func testShapesPerProvider() {
        let good: [ProviderID: String] = [
            .openai: "sk-proj-" + String(repeating: "a1", count: 20), .anthropic: "sk-ant-api03-" + String(repeating: "b2", count: 30),
            .openrouter: "sk-or-v1-" + String(repeating: "c3", count: 32), .elevenlabs: "sk_" + String(repeating: "d4", count: 24),
            .runway: "key_" + String(repeating: "e5", count: 64), .veo: "AIza" + String(repeating: "F", count: 35),
            .fal: "1c2d3e4f-aaaa-bbbb-cccc-1234567890ab:" + String(repeating: "0f", count: 16),
        ]
        for (provider, key) in good {
            XCTAssertNil(ApiKeyShape.problem(with: key, for: provider), "\(provider)")
        }
        let sensitive = "sk-ant-api03-" + String(repeating: "z9", count: 30)
        let problem = ApiKeyShape.problem(with: sensitive, for: .openai)
        XCTAssertEqual(problem, "looks like an Anthropic key, not an OpenAI key")
        XCTAssertNotNil(ApiKeyShape.problem(with: "key_" + String(repeating: "E5", count: 64), for: .runway), "upper-case hex")
        XCTAssertNotNil(ApiKeyShape.problem(with: "sk-\n" + String(repeating: "a", count: 30), for: .openai))
        XCTAssertNotNil(ApiKeyShape.problem(with: "anything", for: .local))
        XCTAssertNotNil(ApiKeyShape.problem(with: String(repeating: "a", count: 600), for: .elevenlabs))
    }

    func testValidationListsEveryFieldAndNeverTheKey() {
        let vault = KeyVault(store: FakeStore(), sealer: FakeSealer(version: 1))
        XCTAssertThrowsError(try vault.create(Self.identity(UUID()), provider: "openai", label: " ", key: "sk-nope")) { error in
            guard case DomainError.validation(let errors) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(errors.map(\.field), ["label", "key"])
            XCTAssertFalse(errors.contains { $0.message.contains("sk-nope") })
        }
    }

    func testDecryptedKeySkipsWhatDoesNotOpenAndSaysWhy() throws {
        let store = FakeStore()
        let sealer = FakeSealer(version: 1)
        let vault = KeyVault(store: store, sealer: sealer)
        let user = UUID()
        XCTAssertThrowsError(try vault.decryptedKey(userID: user, claimsJSON: "{}", provider: .openai)) {
            XCTAssertEqual($0 as? KeyVaultError, .noKey(.openai))
        }
        let older = try vault.create(Self.identity(user), provider: "openai", label: "a", key: "sk-" + String(repeating: "1", count: 30))
        let newer = try vault.create(Self.identity(user), provider: "openai", label: "b", key: "sk-" + String(repeating: "2", count: 30))
        XCTAssertEqual(try vault.decryptedKey(userID: user, claimsJSON: "{}", provider: .openai).plaintext, "sk-" + String(repeating: "2", count: 30))
        store.corrupt(newer.id)
        XCTAssertEqual(try vault.decryptedKey(userID: user, claimsJSON: "{}", provider: .openai).plaintext, "sk-" + String(repeating: "1", count: 30))
        store.corrupt(older.id)
        XCTAssertThrowsError(try vault.decryptedKey(userID: user, claimsJSON: "{}", provider: .openai)) {
            XCTAssertEqual($0 as? KeyVaultError, .unopenable(keyID: newer.id))
        }
    }

    func testRotationResumesAndCountsFailures() throws {
        let store = FakeStore()
        let user = UUID()
        let old = KeyVault(store: store, sealer: FakeSealer(version: 1))
        var bad: UUID?
        for index in 0..<25 {
            let record = try old.create(Self.identity(user), provider: "openai", label: "k\(index)", key: "sk-" + String(format: "%030d", index))
            if index == 7 { bad = record.id }
        }
        store.corrupt(try XCTUnwrap(bad))
        let rotation = KeyRotation(store: store, sealer: FakeSealer(version: 2, opens: [1, 2]))
        let first = try rotation.run(batchSize: 10, maximumBatches: 1)
        XCTAssertFalse(first.finished)
        let second = try rotation.run(batchSize: 10)
        XCTAssertTrue(second.finished)
        XCTAssertEqual(first.rotated + second.rotated, 24)
        XCTAssertEqual(second.failed, 1)
        XCTAssertEqual(second.alreadyCurrent, first.rotated)
        XCTAssertEqual(store.versions(), [1: 1, 2: 24])
    }

    static func identity(_ user: UUID) -> AuthenticatedIdentity {
        AuthenticatedIdentity(userID: user, sessionID: nil, role: "authenticated", claimsJSON: "{}")
    }
}

/// "Seals" by prefixing the version and the binding; opens only what names a held version and the same binding.
private struct FakeSealer: ApiKeySealer {
    let version: UInt32
    var opens: Set<UInt32> = []

    init(version: UInt32, opens: Set<UInt32> = []) {
        self.version = version
        self.opens = opens.isEmpty ? [version] : opens
    }

    func currentKeyVersion() throws -> UInt32 { version }

    func seal(_ key: ProviderAPIKey, binding: ApiKeyBinding) throws -> (ciphertext: Data, keyVersion: UInt32) {
        (Data("\(version)|".utf8 + binding.associatedData + Array("|".utf8) + Array(key.plaintext.utf8)), version)
    }

    func open(_ ciphertext: Data, binding: ApiKeyBinding) throws -> ProviderAPIKey {
        let parts = String(decoding: ciphertext, as: UTF8.self).split(separator: "|", maxSplits: 5).map(String.init)
        guard parts.count == 6, let sealedBy = UInt32(parts[0]), opens.contains(sealedBy),
              parts[1...4].joined(separator: "|") == String(decoding: binding.associatedData, as: UTF8.self) else {
            throw KeyVaultError.unopenable(keyID: binding.keyID)
        }
        return ProviderAPIKey(parts[5])
    }

    func fingerprints(of key: ProviderAPIKey, provider: ProviderID) throws -> [Data] {
        opens.sorted { $0 == version ? true : $1 == version ? false : $0 < $1 }.map { Data("\($0)|\(provider.rawValue)|\(key.plaintext)".utf8) }
    }
}

private final class FakeStore: ApiKeyStore, ApiKeyRotationStore, Sendable {
    private struct Row {
        var key: NewApiKey
        var ciphertext: Data
        var version: UInt32
        var fingerprint: Data
        var order: Int
        var status: ApiKeyStatus = .unchecked
        var label: String?
    }
    private let rows = Mutex<[UUID: Row]>([:])

    func corrupt(_ id: UUID) {
        rows.withLock { $0[id]?.ciphertext = Data("garbage".utf8) }
    }

    func versions() -> [UInt32: Int] {
        rows.withLock { Dictionary(grouping: $0.values, by: \.version).mapValues(\.count) }
    }

    private func record(_ row: Row) -> ApiKeyRecord {
        ApiKeyRecord(id: row.key.id, provider: row.key.provider, label: row.label ?? row.key.label, mask: row.key.maskPrefix + "…" + row.key.last4,
                     status: row.status, lastCheckedAt: nil, lastUsedAt: nil, createdAt: row.key.now, updatedAt: row.key.now)
    }

    func insert(_ key: NewApiKey, claimsJSON: String, otherFingerprints: [Data]) throws -> ApiKeyRecord {
        try rows.withLock { rows in
            let fingerprints = Set([key.fingerprint] + otherFingerprints)
            if rows.values.contains(where: { $0.key.userID == key.userID && $0.key.provider == key.provider && fingerprints.contains($0.fingerprint) }) {
                throw DomainError.conflict(code: "duplicate_key", detail: "duplicate")
            }
            let row = Row(key: key, ciphertext: key.ciphertext, version: key.keyVersion, fingerprint: key.fingerprint, order: rows.count)
            rows[key.id] = row
            return record(row)
        }
    }

    func list(claimsJSON: String) throws -> [ApiKeyRecord] {
        rows.withLock { $0.values.sorted { $0.order > $1.order }.map(record) }
    }

    func record(id: UUID, claimsJSON: String) throws -> ApiKeyRecord? {
        try list(claimsJSON: claimsJSON).first { $0.id == id }
    }

    func delete(id: UUID, claimsJSON: String) throws -> Bool {
        rows.withLock { $0.removeValue(forKey: id) != nil }
    }

    func relabel(id: UUID, label: String, claimsJSON: String, now: Date) throws -> ApiKeyRecord? {
        rows.withLock { rows in
            rows[id]?.label = label
            return rows[id].map(record)
        }
    }

    func usableKeys(provider: ProviderID, claimsJSON: String, limit: Int) throws -> [SealedApiKey] {
        rows.withLock { rows in
            rows.values.filter { $0.key.provider == provider }.sorted { $0.order > $1.order }.prefix(limit)
                .map { SealedApiKey(id: $0.key.id, userID: $0.key.userID, provider: $0.key.provider, ciphertext: $0.ciphertext) }
        }
    }

    func markUsed(id: UUID, claimsJSON: String, now: Date) throws {}

    func unmarkUsed(id: UUID, markedAt: Date, previous: Date?, claimsJSON: String) throws {}

    func sealedKey(id: UUID, claimsJSON: String) throws -> SealedApiKey? {
        rows.withLock { $0[id].map { SealedApiKey(id: $0.key.id, userID: $0.key.userID, provider: $0.key.provider, ciphertext: $0.ciphertext) } }
    }

    func recordCheck(id: UUID, claimsJSON: String, status: ApiKeyStatus?, reason: String, now: Date) throws -> ApiKeyRecord {
        try rows.withLock { rows in
            guard var row = rows[id] else { throw DomainError.notFound(resource: "API key") }
            if let status { row.status = status }
            rows[id] = row
            return record(row)
        }
    }

    func count(onKeyVersion keyVersion: UInt32) throws -> Int {
        rows.withLock { $0.values.filter { $0.version == keyVersion }.count }
    }

    func rotateBatch(to keyVersion: UInt32, limit: Int, skipping: [UUID],
                     reseal: (SealedApiKey) -> ResealedApiKey?) throws -> (rotated: Int, refused: [UUID]) {
        let batch = rows.withLock { rows in
            rows.values.filter { $0.version != keyVersion && !skipping.contains($0.key.id) }.sorted { $0.order < $1.order }.prefix(limit)
                .map { SealedApiKey(id: $0.key.id, userID: $0.key.userID, provider: $0.key.provider, ciphertext: $0.ciphertext) }
        }
        var rotated = 0
        var refused: [UUID] = []
        for row in batch {
            guard let resealed = reseal(row) else { refused.append(row.id); continue }
            rows.withLock {
                $0[row.id]?.ciphertext = resealed.ciphertext
                $0[row.id]?.version = resealed.keyVersion
                $0[row.id]?.fingerprint = resealed.fingerprint
            }
            rotated += 1
        }
        return (rotated, refused)
    }
}

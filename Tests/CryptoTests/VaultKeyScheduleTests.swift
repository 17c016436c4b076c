import Crypto
import Domain
import Foundation
import XCTest

/// The vault's key schedule (scrypt, then HKDF into the envelope key, the fingerprint key and the
/// key version), tested where it lives, without the server.
final class VaultKeyScheduleTests: XCTestCase {
    /// A low cost keeps the test fast; the schedule is the same at the default cost.
    private let parameters = try? ScryptParameters(n: 1 << 10, r: 8, p: 1, length: 32)
    private let salt = Data("deployment-salt-0123456789abcdef".utf8)
    private let binding = ApiKeyBinding(userID: UUID(), keyID: UUID(), provider: .openai)

    private func sealer(_ secret: String, previous: String? = nil) throws -> CryptoApiKeySealer {
        let material = try VaultKeyMaterial.derive(secret: secret, previous: previous, salt: salt, parameters: try XCTUnwrap(parameters))
        return CryptoApiKeySealer(keys: VaultKeySource { material })
    }

    func testTheSameSecretAndSaltGiveTheSameVersionAndKeysInEveryProcess() throws {
        let first = try sealer("a first secret of enough length")
        let second = try sealer("a first secret of enough length")
        XCTAssertEqual(try first.currentKeyVersion(), try second.currentKeyVersion())
        let sealed = try first.seal(ProviderAPIKey("sk-test-1"), binding: binding)
        XCTAssertEqual(try second.open(sealed.ciphertext, binding: binding).plaintext, "sk-test-1")
        XCTAssertEqual(try first.fingerprints(of: ProviderAPIKey("sk-test-1"), provider: .openai),
                       try second.fingerprints(of: ProviderAPIKey("sk-test-1"), provider: .openai))
    }

    func testADifferentSecretOrSaltGivesAnotherVersionAndCannotOpen() throws {
        let first = try sealer("a first secret of enough length")
        let other = try sealer("another secret of enough length")
        XCTAssertNotEqual(try first.currentKeyVersion(), try other.currentKeyVersion())
        let sealed = try first.seal(ProviderAPIKey("sk-test-1"), binding: binding)
        XCTAssertThrowsError(try other.open(sealed.ciphertext, binding: binding))
        XCTAssertNotEqual(try first.fingerprints(of: ProviderAPIKey("sk-test-1"), provider: .openai),
                          try other.fingerprints(of: ProviderAPIKey("sk-test-1"), provider: .openai))
    }

    func testDuringARotationBothSecretsOpenAndTheNewOneSeals() throws {
        let old = try sealer("the old secret of enough length")
        let rotating = try sealer("the new secret of enough length", previous: "the old secret of enough length")
        let sealedByOld = try old.seal(ProviderAPIKey("sk-old"), binding: binding)
        XCTAssertEqual(try rotating.open(sealedByOld.ciphertext, binding: binding).plaintext, "sk-old")
        let sealedByNew = try rotating.seal(ProviderAPIKey("sk-new"), binding: binding)
        XCTAssertNotEqual(sealedByNew.keyVersion, sealedByOld.keyVersion)
        XCTAssertThrowsError(try old.open(sealedByNew.ciphertext, binding: binding))
        // One fingerprint per secret held, current first, so a key stored under either is found.
        XCTAssertEqual(try rotating.fingerprints(of: ProviderAPIKey("sk-old"), provider: .openai).count, 2)
    }

    func testAnEnvelopeOpensOnlyForItsOwnRow() throws {
        let vault = try sealer("a first secret of enough length")
        let sealed = try vault.seal(ProviderAPIKey("sk-test-1"), binding: binding)
        let otherRow = ApiKeyBinding(userID: binding.userID, keyID: UUID(), provider: .openai)
        XCTAssertThrowsError(try vault.open(sealed.ciphertext, binding: otherRow))
    }
}

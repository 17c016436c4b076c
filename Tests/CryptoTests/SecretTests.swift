@testable import Crypto
import XCTest

final class SecretTests: XCTestCase {
    func testDescriptionsAreRedacted() throws {
        let secret = SecretBytes(utf8: "sk-live-very-secret")
        let key = try EncryptionKey.random()
        for text in [
            secret.description, secret.debugDescription, "\(secret)", String(reflecting: secret),
            String(describing: [secret]), String(describing: Optional(secret)),
            key.description, String(reflecting: key), "\(key)",
        ] {
            XCTAssertFalse(text.contains("secret"), text)
            XCTAssertTrue(text.contains("<redacted"), text)
        }
        XCTAssertEqual(secret.description, "<redacted 19 bytes>")

        var dumped = ""
        dump(secret, to: &dumped)
        dump(key, to: &dumped)
        XCTAssertFalse(dumped.contains("secret"))
        XCTAssertTrue(Mirror(reflecting: secret).children.isEmpty)
        XCTAssertTrue(Mirror(reflecting: key).children.isEmpty)
    }

    func testKeyringDescriptionShowsVersionsOnly() throws {
        let ring = try Keyring(currentVersion: 2, keys: [1: .random(), 2: .random()])
        XCTAssertEqual(ring.description, "Keyring(current: 2, versions: [1, 2], keys redacted)")
        var dumped = ""
        dump(ring, to: &dumped)
        XCTAssertFalse(dumped.contains("SecretBytes"))
    }

    func testContentsAndEquality() {
        let a = SecretBytes(copying: [1, 2, 3] as [UInt8])
        XCTAssertEqual(a.count, 3)
        XCTAssertEqual(a.revealed, [1, 2, 3])
        XCTAssertEqual(a, SecretBytes(copying: [1, 2, 3] as [UInt8]))
        XCTAssertNotEqual(a, SecretBytes(copying: [1, 2, 4] as [UInt8]))
        XCTAssertNotEqual(a, SecretBytes(copying: [1, 2] as [UInt8]))
        XCTAssertEqual(SecretBytes(copying: [UInt8]()).count, 0)
        XCTAssertEqual(SecretBytes(utf8: "é").revealed, [0xC3, 0xA9])
    }

    func testFailedInitialiserLeavesNothingBehind() {
        struct Boom: Error {}
        XCTAssertThrowsError(try SecretBytes(count: 8) { buffer in
            buffer.storeBytes(of: UInt64.max, as: UInt64.self)
            throw Boom()
        })
    }

    func testKeyLengthIsChecked() {
        assertThrows(try EncryptionKey(SecretBytes(copying: [UInt8](repeating: 0, count: 16))),
                             CryptoError.invalidKeyLength(expected: 32, actual: 16))
    }

    func testSecureRandom() throws {
        let a = try SecureRandom.bytes(count: 32)
        let b = try SecureRandom.bytes(count: 32)
        XCTAssertEqual(a.count, 32)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(try SecureRandom.bytes(count: 0), [])
        XCTAssertEqual(try SecureRandom.secret(count: 64).count, 64)
        XCTAssertThrowsError(try SecureRandom.bytes(count: -1))
    }

    func testConstantTimeEquals() {
        XCTAssertTrue(ConstantTime.equals([UInt8](), [UInt8]()))
        XCTAssertTrue(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        XCTAssertFalse(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        XCTAssertFalse(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        XCTAssertTrue(ConstantTime.equals(Data([9, 9]), [9, 9] as [UInt8]))
    }
}

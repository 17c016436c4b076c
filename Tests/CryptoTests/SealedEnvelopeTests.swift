@testable import Crypto
import XCTest

final class SealedEnvelopeTests: XCTestCase {
    let key = try! EncryptionKey.random()
    let otherKey = try! EncryptionKey.random()
    let secret = Array("sk-proj-0123456789abcdefghijklmnopqrstuvwxyz".utf8)
    let binding = Array("user:deadbeef-dead-beef-dead-beefdeadbeef/api_key:1".utf8)

    func testRoundTripAndLayout() throws {
        let envelope = try SealedEnvelope.seal(secret, key: key, keyVersion: 0x0102_0304, associatedData: binding)
        XCTAssertEqual(envelope.bytes.count, 1 + 4 + 12 + secret.count + 16)
        XCTAssertEqual(Array(envelope.bytes[0..<5]), [1, 1, 2, 3, 4])
        XCTAssertEqual(envelope.keyVersion, 0x0102_0304)
        XCTAssertEqual(try envelope.open(key: key, associatedData: binding).revealed, secret)
        XCTAssertEqual(envelope.description, "SealedEnvelope(format: 1, keyVersion: 16909060, \(envelope.bytes.count) bytes)")
    }

    func testEmptyPlaintextAndEmptyAssociatedData() throws {
        let envelope = try SealedEnvelope.seal([UInt8](), key: key, keyVersion: 0, associatedData: [UInt8]())
        XCTAssertEqual(envelope.bytes.count, SealedEnvelope.overhead)
        XCTAssertEqual(try envelope.open(key: key, associatedData: [UInt8]()).count, 0)
        assertThrows(try envelope.open(key: otherKey, associatedData: [UInt8]()), CryptoError.openFailed)
    }

    func testEachSealUsesAFreshNonce() throws {
        var nonces = Set<[UInt8]>()
        for _ in 0..<200 {
            let envelope = try SealedEnvelope.seal(secret, key: key, keyVersion: 1, associatedData: binding)
            nonces.insert(Array(envelope.bytes[5..<17]))
        }
        XCTAssertEqual(nonces.count, 200)
    }

    func testBase64TextForm() throws {
        let envelope = try SealedEnvelope.seal(secret, key: key, keyVersion: 7, associatedData: binding)
        let text = envelope.base64EncodedString()
        let parsed = try SealedEnvelope(base64Encoded: text)
        XCTAssertEqual(parsed, envelope)
        XCTAssertEqual(try parsed.open(key: key, associatedData: binding).revealed, secret)
        assertThrows(try SealedEnvelope(base64Encoded: "not base64!"), CryptoError.openFailed)
        assertThrows(try SealedEnvelope(base64Encoded: ""), CryptoError.openFailed)
    }

    func testWrongKeyFails() throws {
        let envelope = try SealedEnvelope.seal(secret, key: key, keyVersion: 1, associatedData: binding)
        assertThrows(try envelope.open(key: otherKey, associatedData: binding), CryptoError.openFailed)
    }

    func testChangedAssociatedDataFails() throws {
        let envelope = try SealedEnvelope.seal(secret, key: key, keyVersion: 1, associatedData: binding)
        var moved = binding
        moved[moved.count - 1] = UInt8(ascii: "2")  // same ciphertext copied to another row
        assertThrows(try envelope.open(key: key, associatedData: moved), CryptoError.openFailed)
        assertThrows(try envelope.open(key: key, associatedData: [UInt8]()), CryptoError.openFailed)
        assertThrows(try envelope.open(key: key, associatedData: binding + [0]), CryptoError.openFailed)
    }

    /// Every bit of every byte, header included: one error, never plaintext.
    func testEveryChangedBitFails() throws {
        let envelope = try SealedEnvelope.seal(Array(secret.prefix(8)), key: key, keyVersion: 1, associatedData: binding)
        for index in envelope.bytes.indices {
            for bit in 0..<8 {
                var bytes = envelope.bytes
                bytes[index] ^= UInt8(1 << bit)
                XCTAssertThrowsError(try SealedEnvelope(bytes: bytes).open(key: key, associatedData: binding)) { error in
                    XCTAssertEqual(error as? CryptoError, .openFailed, "byte \(index) bit \(bit)")
                }
            }
        }
    }

    func testTruncationAndExtensionFail() throws {
        let envelope = try SealedEnvelope.seal(secret, key: key, keyVersion: 1, associatedData: binding)
        for length in 0..<envelope.bytes.count {
            XCTAssertThrowsError(try SealedEnvelope(bytes: Array(envelope.bytes.prefix(length)))
                .open(key: key, associatedData: binding)) { error in
                XCTAssertEqual(error as? CryptoError, .openFailed, "length \(length)")
            }
            // Dropping bytes after the format byte is a different truncation from dropping the tail.
            if length < envelope.bytes.count - 1 {
                XCTAssertThrowsError(try SealedEnvelope(bytes: [1] + Array(envelope.bytes.suffix(length)))
                    .open(key: key, associatedData: binding))
            }
        }
        assertThrows(try SealedEnvelope(bytes: envelope.bytes + [0]).open(key: key, associatedData: binding),
                     CryptoError.openFailed)
    }

    func testUnknownFormatVersionFails() throws {
        let envelope = try SealedEnvelope.seal(secret, key: key, keyVersion: 1, associatedData: binding)
        for version in [0, 2, 255] as [UInt8] {
            var bytes = envelope.bytes
            bytes[0] = version
            assertThrows(try SealedEnvelope(bytes: bytes), CryptoError.openFailed)
        }
    }

    func testKeyringRotation() throws {
        let v1 = try EncryptionKey.random(), v2 = try EncryptionKey.random()
        let old = try Keyring(currentVersion: 1, keys: [1: v1])
        let sealedWithV1 = try old.seal(secret, associatedData: binding)
        XCTAssertEqual(sealedWithV1.keyVersion, 1)

        let rotated = try Keyring(currentVersion: 2, keys: [1: v1, 2: v2])
        XCTAssertTrue(rotated.needsResealing(sealedWithV1))
        let plain = try rotated.open(sealedWithV1, associatedData: binding)
        XCTAssertEqual(plain.revealed, secret)
        let resealed = try rotated.seal(plain, associatedData: binding)
        XCTAssertEqual(resealed.keyVersion, 2)
        XCTAssertFalse(rotated.needsResealing(resealed))

        // After v1 is retired, its envelopes are reported as such, not as tampered.
        let retired = try Keyring(currentVersion: 2, keys: [2: v2])
        assertThrows(try retired.open(sealedWithV1, associatedData: binding), CryptoError.unknownKeyVersion(1))
        XCTAssertEqual(try retired.open(resealed, associatedData: binding).revealed, secret)
        XCTAssertEqual(retired.versions, [2])
    }

    func testKeyVersionTamperWithBothKeysHeldFails() throws {
        // Relabelling a v1 envelope as v2 must not open under v2, nor under v1 (the header is authenticated).
        let v1 = try EncryptionKey.random(), v2 = try EncryptionKey.random()
        let ring = try Keyring(currentVersion: 1, keys: [1: v1, 2: v2])
        var bytes = try ring.seal(secret, associatedData: binding).bytes
        bytes[4] = 2
        let relabelled = try SealedEnvelope(bytes: bytes)
        assertThrows(try ring.open(relabelled, associatedData: binding), CryptoError.openFailed)
        assertThrows(try relabelled.open(key: v1, associatedData: binding), CryptoError.openFailed)
    }

    func testKeyringNeedsItsCurrentKey() throws {
        XCTAssertThrowsError(try Keyring(currentVersion: 3, keys: [1: .random()]))
    }

    /// 10,000 random byte strings: all rejected, no crash. Half start with the right format byte
    /// so that they reach GCM instead of stopping at the version check.
    func testFuzzRandomEnvelopesAreRejected() throws {
        var rng = SplitMix64(seed: 0x5EA1_ED0E)
        let ring = try Keyring(currentVersion: 0, keys: [0: key, 1: otherKey])
        for iteration in 0..<10_000 {
            var bytes = [UInt8].random(count: Int.random(in: 0...96, using: &rng), using: &rng)
            if iteration.isMultiple(of: 2), !bytes.isEmpty {
                bytes[0] = SealedEnvelope.formatVersion
                if bytes.count >= 5 { bytes[1...4] = [0, 0, 0, UInt8(iteration % 4 == 0 ? 0 : 1)] }
            }
            do {
                _ = try ring.open(SealedEnvelope(bytes: bytes), associatedData: binding)
                XCTFail("random envelope opened: \(hexString(bytes))")
            } catch CryptoError.openFailed {
            } catch CryptoError.unknownKeyVersion(let version) where version > 1 {
            } catch {
                XCTFail("unexpected error \(error) for \(hexString(bytes))")
            }
        }
    }
}

@testable import Crypto
import XCTest

/// Known answers for the AES-256-GCM core with fixed nonces (the public API never takes one).
final class AESGCMTests: XCTestCase {
    struct Vector {
        let source: String
        let key, nonce, plaintext, aad, ciphertext, tag: String
    }

    static let vectors: [Vector] = [
        // NIST CAVP gcmEncryptExtIV256.rsp, [Keylen=256][IVlen=96][PTlen=0][AADlen=0][Taglen=128] Count=0
        Vector(source: "CAVP ExtIV256 PTlen=0 AADlen=0 #0",
               key: "b52c505a37d78eda5dd34f20c22540ea1b58963cf8e5bf8ffa85f9f2492505b4",
               nonce: "516c33929df5a3284ff463d7", plaintext: "", aad: "", ciphertext: "",
               tag: "bdc1ac884d332457a1d2664f168c76f0"),
        // NIST CAVP gcmEncryptExtIV256.rsp, [PTlen=0][AADlen=160] Count=0 (GMAC: AAD only)
        Vector(source: "CAVP ExtIV256 PTlen=0 AADlen=160 #0",
               key: "886cff5f3e6b8d0e1ad0a38fcdb26de97e8acbe79f6bed66959a598fa5047d65",
               nonce: "3a8efa1cd74bbab5448f9945", plaintext: "",
               aad: "519fee519d25c7a304d6c6aa1897ee1eb8c59655", ciphertext: "",
               tag: "f6d47505ec96c98a42dc3ae719877b87"),
        // NIST CAVP gcmEncryptExtIV256.rsp, [PTlen=128][AADlen=0] Count=0
        Vector(source: "CAVP ExtIV256 PTlen=128 AADlen=0 #0",
               key: "31bdadd96698c204aa9ce1448ea94ae1fb4a9a0b3c9d773b51bb1822666b8f22",
               nonce: "0d18e06c7c725ac9e362e1ce", plaintext: "2db5168e932556f8089a0622981d017d", aad: "",
               ciphertext: "fa4362189661d163fcd6a56d8bf0405a", tag: "d636ac1bbedd5cc3ee727dc2ab4a9489"),
        // NIST CAVP gcmEncryptExtIV256.rsp, [PTlen=128][AADlen=128] Count=0
        Vector(source: "CAVP ExtIV256 PTlen=128 AADlen=128 #0",
               key: "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
               nonce: "ac93a1a6145299bde902f21a", plaintext: "2d71bcfa914e4ac045b2aa60955fad24",
               aad: "1e0889016f67601c8ebea4943bc23ad6",
               ciphertext: "8995ae2e6df3dbf96fac7b7137bae67f", tag: "eca5aa77d51d4a0a14d9c51e1da474ab"),
        // NIST CAVP gcmEncryptExtIV256.rsp, [PTlen=104][AADlen=0] Count=0 (partial block)
        Vector(source: "CAVP ExtIV256 PTlen=104 AADlen=0 #0",
               key: "82c4f12eeec3b2d3d157b0f992d292b237478d2cecc1d5f161389b97f999057a",
               nonce: "7b40b20f5f397177990ef2d1", plaintext: "982a296ee1cd7086afad976945", aad: "",
               ciphertext: "ec8e05a0471d6b43a59ca5335f", tag: "113ddeafc62373cac2f5951bb9165249"),
        // NIST CAVP gcmEncryptExtIV256.rsp, [PTlen=408][AADlen=160] Count=0 (partial blocks both sides)
        Vector(source: "CAVP ExtIV256 PTlen=408 AADlen=160 #0",
               key: "24501ad384e473963d476edcfe08205237acfd49b5b8f33857f8114e863fec7f",
               nonce: "9ff18563b978ec281b3f2794",
               plaintext: "27f348f9cdc0c5bd5e66b1ccb63ad920ff2219d14e8d631b3872265cf117ee86757accb158bd9abb3868fdc0d0b074b5f01b2c",
               aad: "adb5ec720ccf9898500028bf34afccbcaca126ef",
               ciphertext: "eb7cb754c824e8d96f7c6d9b76c7d26fb874ffbf1d65c6f64a698d839b0b06145dae82057ad55994cf59ad7f67c0fa5e85fab8",
               tag: "bc95c532fecc594c36d1550286a7a3f0"),
        // McGrew & Viega, "The Galois/Counter Mode of Operation" (the GCM specification submitted
        // to NIST for SP 800-38D), Test Case 16: AES-256, 60-byte plaintext, 20-byte AAD.
        Vector(source: "GCM spec Test Case 16",
               key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
               nonce: "cafebabefacedbaddecaf888",
               plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
               aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
               ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
               tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
    ]

    func testKnownAnswersSeal() throws {
        for v in Self.vectors {
            let key = try EncryptionKey(SecretBytes(copying: hex(v.key)))
            let sealed = try AESGCM.seal(hex(v.plaintext), key: key, nonce: hex(v.nonce), associatedData: hex(v.aad))
            XCTAssertEqual(hexString(sealed.ciphertext), v.ciphertext, v.source)
            XCTAssertEqual(hexString(sealed.tag), v.tag, v.source)
        }
    }

    func testKnownAnswersOpen() throws {
        for v in Self.vectors {
            let key = try EncryptionKey(SecretBytes(copying: hex(v.key)))
            let plain = try AESGCM.open(ciphertext: hex(v.ciphertext), tag: hex(v.tag), key: key,
                                        nonce: hex(v.nonce), associatedData: hex(v.aad))
            XCTAssertEqual(hexString(plain.revealed), v.plaintext, v.source)
        }
    }

    /// Tag mismatch: each vector above with one tag bit flipped (the CAVP decrypt files mark such
    /// cases FAIL), and with one ciphertext or AAD bit flipped.
    func testTagMismatchIsRejected() throws {
        for v in Self.vectors {
            let key = try EncryptionKey(SecretBytes(copying: hex(v.key)))
            var tag = hex(v.tag)
            tag[15] ^= 0x01
            assertThrows(try AESGCM.open(ciphertext: hex(v.ciphertext), tag: tag, key: key,
                                         nonce: hex(v.nonce), associatedData: hex(v.aad)), CryptoError.openFailed)
            if !v.ciphertext.isEmpty {
                var ciphertext = hex(v.ciphertext)
                ciphertext[0] ^= 0x80
                assertThrows(try AESGCM.open(ciphertext: ciphertext, tag: hex(v.tag), key: key,
                                             nonce: hex(v.nonce), associatedData: hex(v.aad)), CryptoError.openFailed)
            }
            var aad = hex(v.aad)
            if aad.isEmpty { aad = [0] } else { aad[aad.count - 1] ^= 0x01 }
            assertThrows(try AESGCM.open(ciphertext: hex(v.ciphertext), tag: hex(v.tag), key: key,
                                         nonce: hex(v.nonce), associatedData: aad), CryptoError.openFailed)
        }
    }
}

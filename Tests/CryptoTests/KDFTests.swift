import Crypto
import Foundation
import XCTest

final class HKDFTests: XCTestCase {
    func testRFC5869TestCase1() throws {
        // RFC 5869 Appendix A.1: basic test case with SHA-256
        let okm = try HKDFSHA256.deriveKey(inputKeyMaterial: [UInt8](repeating: 0x0b, count: 22),
                                           salt: hex("000102030405060708090a0b0c"),
                                           info: hex("f0f1f2f3f4f5f6f7f8f9"), outputByteCount: 42)
        XCTAssertEqual(hexString(okm.revealed),
                       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    }

    func testRFC5869TestCase2() throws {
        // RFC 5869 Appendix A.2: longer inputs/outputs (80-byte IKM, salt and info; 82-byte OKM)
        let okm = try HKDFSHA256.deriveKey(inputKeyMaterial: Array(0x00...0x4f) as [UInt8],
                                           salt: Array(0x60...0xaf) as [UInt8],
                                           info: Array(0xb0...0xff) as [UInt8], outputByteCount: 82)
        XCTAssertEqual(hexString(okm.revealed), """
            b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
            59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
            cc30c58179ec3e87c14c01d5c1f3434f1d87
            """)
    }

    func testRFC5869TestCase3() throws {
        // RFC 5869 Appendix A.3: zero-length salt and info
        let okm = try HKDFSHA256.deriveKey(inputKeyMaterial: [UInt8](repeating: 0x0b, count: 22),
                                           salt: [UInt8](), info: [UInt8](), outputByteCount: 42)
        XCTAssertEqual(hexString(okm.revealed),
                       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    }

    func testEmptyInputKeyMaterial() throws {
        // RFC 5869 allows an empty IKM. Cross-checked with a Python HMAC-based HKDF:
        // PRK = HMAC(0x00*32, ""), OKM = HMAC(PRK, 0x01).
        let okm = try HKDFSHA256.deriveKey(inputKeyMaterial: [UInt8](), salt: [UInt8](), info: [UInt8](),
                                           outputByteCount: 32)
        XCTAssertEqual(hexString(okm.revealed), "eb70f01dede9afafa449eee1b1286504e1f62388b3f7dd4f956697b0e828fe18")
    }

    func testOutputLengthLimits() throws {
        XCTAssertThrowsError(try HKDFSHA256.deriveKey(inputKeyMaterial: [UInt8](repeating: 1, count: 32), salt: [UInt8](),
                                                      info: [UInt8](), outputByteCount: 0))
        XCTAssertThrowsError(try HKDFSHA256.deriveKey(inputKeyMaterial: [UInt8](repeating: 1, count: 32), salt: [UInt8](),
                                                      info: [UInt8](), outputByteCount: 255 * 32 + 1))
        XCTAssertEqual(try HKDFSHA256.deriveKey(inputKeyMaterial: [UInt8](repeating: 1, count: 32), salt: [UInt8](),
                                                info: [UInt8](), outputByteCount: 255 * 32).count, 255 * 32)
    }

    func testPurposesGiveDifferentKeys() throws {
        let master = SecretBytes(copying: [UInt8](repeating: 7, count: 32))
        let a = try HKDFSHA256.deriveEncryptionKey(from: master, salt: [UInt8](), info: "provider-keys")
        let b = try HKDFSHA256.deriveEncryptionKey(from: master, salt: [UInt8](), info: "signed-urls")
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a, try HKDFSHA256.deriveEncryptionKey(from: master, salt: [UInt8](), info: "provider-keys"))
    }
}

final class ScryptTests: XCTestCase {
    func scrypt(_ password: String, _ salt: String, n: UInt64, r: UInt32, p: UInt32) throws -> String {
        let parameters = try ScryptParameters(n: n, r: r, p: p, length: 64)
        return hexString(try Scrypt.deriveKey(password: Array(password.utf8), salt: Array(salt.utf8),
                                              parameters: parameters).revealed)
    }

    func testRFC7914Vector1() throws {
        // RFC 7914 §12, first vector: P="", S="", N=16, r=1, p=1, dkLen=64
        XCTAssertEqual(try scrypt("", "", n: 16, r: 1, p: 1), """
            77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442\
            fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906
            """)
    }

    func testRFC7914Vector2() throws {
        // RFC 7914 §12, second vector: P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64
        XCTAssertEqual(try scrypt("password", "NaCl", n: 1024, r: 8, p: 16), """
            fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
            2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640
            """)
    }

    func testRFC7914Vector3() throws {
        // RFC 7914 §12, third vector: P="pleaseletmein", S="SodiumChloride", N=16384, r=8, p=1, dkLen=64
        XCTAssertEqual(try scrypt("pleaseletmein", "SodiumChloride", n: 16384, r: 8, p: 1), """
            7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2\
            d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887
            """)
    }

    /// RFC 7914 §12, fourth vector (N=2^20: 1 GiB and several seconds). Opt-in:
    /// CRYPTO_SLOW_TESTS=1 swift test --filter ScryptTests
    func testRFC7914Vector4() throws {
        guard ProcessInfo.processInfo.environment["CRYPTO_SLOW_TESTS"] == "1" else {
            throw XCTSkip("set CRYPTO_SLOW_TESTS=1 to run the 1 GiB scrypt vector")
        }
        XCTAssertEqual(try scrypt("pleaseletmein", "SodiumChloride", n: 1_048_576, r: 8, p: 1), """
            2101cb9b6a511aaeaddbbe09cf70f881ec568d574a2ffd4dabe5ee9820adaa47\
            8e56fd8f4ba5d09ffa1c6d927c40f4c337304049e8a952fbcbf45c6fa77a41a4
            """)
    }

    func testDefaultParametersWorkWithinOpenSSLsMemoryCheck() throws {
        // N=2^15, r=8 needs just over OpenSSL's 32 MiB default maxmem; this fails if the cap is not raised.
        XCTAssertEqual(ScryptParameters.default.description, "scrypt:n=32768,r=8,p=1,len=32")
        let key = try Scrypt.deriveKey(password: Array("deployment secret".utf8), salt: [UInt8](repeating: 1, count: 16))
        XCTAssertEqual(key.count, 32)
        // Cross-checked with Python: hashlib.scrypt(b"deployment secret", salt=b"\x01"*16, n=32768, r=8, p=1,
        // dklen=32, maxmem=64*1024*1024).hex()
        XCTAssertEqual(hexString(key.revealed), Self.defaultParametersAnswer)
    }

    static let defaultParametersAnswer = "4460e4bf708a1145d3234e1826e786c8ff22082d4a0c116af652f71323951029"

    func testParametersTextAndJSONRoundTrip() throws {
        let parameters = try ScryptParameters(n: 1 << 16, r: 8, p: 2, length: 48)
        XCTAssertEqual(ScryptParameters(parameters.description), parameters)
        let json = try JSONEncoder().encode(parameters)
        XCTAssertEqual(try JSONDecoder().decode(ScryptParameters.self, from: json), parameters)
        XCTAssertEqual(try JSONDecoder().decode(ScryptParameters.self, from: Data(#"{"n":32768,"r":8,"p":1,"length":32}"#.utf8)),
                       .default)
    }

    func testParametersAreValidated() throws {
        XCTAssertThrowsError(try ScryptParameters(n: 1000, r: 8, p: 1, length: 32))     // not a power of two
        XCTAssertThrowsError(try ScryptParameters(n: 1, r: 8, p: 1, length: 32))
        XCTAssertThrowsError(try ScryptParameters(n: 1 << 21, r: 8, p: 1, length: 32))  // above the cap
        XCTAssertThrowsError(try ScryptParameters(n: 1 << 20, r: 16, p: 1, length: 32)) // 2 GiB
        XCTAssertThrowsError(try ScryptParameters(n: 1 << 10, r: 0, p: 1, length: 32))
        XCTAssertThrowsError(try ScryptParameters(n: 1 << 10, r: 8, p: 0, length: 32))
        XCTAssertThrowsError(try ScryptParameters(n: 1 << 10, r: 8, p: 1, length: 0))
        XCTAssertThrowsError(try ScryptParameters(n: 1 << 10, r: 8, p: 1, length: 1025))
        XCTAssertThrowsError(try JSONDecoder().decode(ScryptParameters.self,
                                                      from: Data(#"{"n":3,"r":8,"p":1,"length":32}"#.utf8)))
        for text in ["", "scrypt:", "scrypt:n=32768,r=8,p=1", "scrypt:n=32768,r=8,p=1,len=32,x=1",
                     "scrypt:r=8,n=32768,p=1,len=32", "scrypt:n=+32768,r=8,p=1,len=32",
                     "scrypt:n=032768,r=8,p=1,len=32", "scrypt:n=32768, r=8,p=1,len=32",
                     "scrypt:n=1000,r=8,p=1,len=32", "scrypt:n=32768,r=99999999999,p=1,len=32",
                     "bcrypt:n=32768,r=8,p=1,len=32"] {
            XCTAssertNil(ScryptParameters(text), text)
        }
    }
}

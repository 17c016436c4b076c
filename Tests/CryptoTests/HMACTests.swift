import Crypto
import XCTest

final class HMACTests: XCTestCase {
    func testSHA256KnownAnswers() throws {
        // FIPS 180-2 Appendix B.1 ("abc") and B.2 (two-block message); the empty string from
        // NIST's SHA-256 example values.
        XCTAssertEqual(hexString(try SHA256.hash(Array("abc".utf8))),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hexString(try SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(hexString(try SHA256.hash([UInt8]())),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    struct Vector {
        let source: String
        let key: [UInt8], data: [UInt8], mac: String
    }

    static let rfc4231: [Vector] = [
        // RFC 4231 §4.2 Test Case 1
        Vector(source: "RFC 4231 4.2", key: [UInt8](repeating: 0x0b, count: 20), data: Array("Hi There".utf8),
               mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        // RFC 4231 §4.3 Test Case 2 (key shorter than the output)
        Vector(source: "RFC 4231 4.3", key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8),
               mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        // RFC 4231 §4.4 Test Case 3
        Vector(source: "RFC 4231 4.4", key: [UInt8](repeating: 0xaa, count: 20), data: [UInt8](repeating: 0xdd, count: 50),
               mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        // RFC 4231 §4.5 Test Case 4
        Vector(source: "RFC 4231 4.5", key: Array(1...25), data: [UInt8](repeating: 0xcd, count: 50),
               mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        // RFC 4231 §4.7 Test Case 6 (key larger than the block: hashed first)
        Vector(source: "RFC 4231 4.7", key: [UInt8](repeating: 0xaa, count: 131),
               data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
               mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        // RFC 4231 §4.8 Test Case 7
        Vector(source: "RFC 4231 4.8", key: [UInt8](repeating: 0xaa, count: 131),
               data: Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
               mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    func testRFC4231() throws {
        for v in Self.rfc4231 {
            let mac = try HMACSHA256.mac(for: v.data, key: v.key)
            XCTAssertEqual(hexString(mac), v.mac, v.source)
            XCTAssertTrue(try HMACSHA256.isValid(hex(v.mac), for: v.data, key: v.key), v.source)
            XCTAssertTrue(try HMACSHA256.isValid(mac, for: v.data, key: SecretBytes(copying: v.key)), v.source)
        }
    }

    func testRFC4231TruncatedOutput() throws {
        // RFC 4231 §4.6 Test Case 5: the first 128 bits of the output.
        let mac = try HMACSHA256.mac(for: Array("Test With Truncation".utf8), key: [UInt8](repeating: 0x0c, count: 20))
        XCTAssertEqual(hexString(Array(mac.prefix(16))), "a3b6167473100ee06e0c796c2955552b")
    }

    func testIsValidRejectsChangesAndOtherLengths() throws {
        let v = Self.rfc4231[0]
        var mac = hex(v.mac)
        mac[31] ^= 1
        XCTAssertFalse(try HMACSHA256.isValid(mac, for: v.data, key: v.key))
        XCTAssertFalse(try HMACSHA256.isValid(Array(hex(v.mac).prefix(16)), for: v.data, key: v.key))
        XCTAssertFalse(try HMACSHA256.isValid([UInt8](), for: v.data, key: v.key))
    }

    func testEmptyKeyAndMessage() throws {
        // Cross-checked with Python: hmac.new(b"", b"", hashlib.sha256).hexdigest()
        XCTAssertEqual(hexString(try HMACSHA256.mac(for: [UInt8](), key: [UInt8]())),
                       "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }
}

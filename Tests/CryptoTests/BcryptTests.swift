@testable import Crypto
import XCTest

final class BcryptTests: XCTestCase {
    /// Openwall crypt_blowfish `wrapper.c` test vectors (the set OpenBSD-compatible
    /// implementations test against), checked through the raw crypt call so that the non-UTF-8
    /// passwords can be given as bytes. Cost 05 keeps them fast.
    static let openwall: [(hash: String, password: [UInt8])] = [
        ("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", Array("U*U".utf8)),
        ("$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", Array("U*U*".utf8)),
        ("$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a", Array("U*U*U".utf8)),
        ("$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
         Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored".utf8)),
        ("$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", []),
        // 8-bit passwords: $2a$, $2b$ and $2y$ agree on "\xa3" ...
        ("$2a$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", [0xa3]),
        ("$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", [0xa3]),
        ("$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", [0xa3]),
        // ... but not on "\xff\xff\xa3", where $2a$ carries the countermeasure for the old
        // sign-extension bug and $2b$/$2y$ are the corrected algorithm.
        ("$2a$05$/OK.fbVrR/bpIqNJ5ianF.nqd1wy.pTMdcvrRWxyiGL2eMz.2a85.", [0xff, 0xff, 0xa3]),
        ("$2b$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e", [0xff, 0xff, 0xa3]),
        ("$2y$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e", [0xff, 0xff, 0xa3]),
        ("$2a$05$/OK.fbVrR/bpIqNJ5ianF.6IflQkJytoRVc1yuaNtHfiuq.FRlSIS", [0xa3, 0x61, 0x62]),
    ]

    func testOpenwallVectors() throws {
        for vector in Self.openwall {
            XCTAssertEqual(try Bcrypt.crypt(SecretBytes(copying: vector.password), setting: vector.hash), vector.hash,
                           vector.hash)
        }
    }

    func testVerifyAcceptsVectorsThroughThePublicAPI() throws {
        for (hash, password) in Self.openwall {
            guard password.count <= 72, let text = String(validating: password, as: UTF8.self) else { continue }
            XCTAssertTrue(try Bcrypt.verify(text, against: hash), hash)
            XCTAssertFalse(try Bcrypt.verify(text + "x", against: hash), hash)
        }
    }

    func testHashAndVerify() throws {
        let hash = try Bcrypt.hash("correct horse battery staple", cost: 4)
        XCTAssertTrue(hash.hasPrefix("$2b$04$"))
        XCTAssertEqual(hash.utf8.count, 60)
        XCTAssertTrue(try Bcrypt.verify("correct horse battery staple", against: hash))
        XCTAssertFalse(try Bcrypt.verify("correct horse battery stapl", against: hash))
        XCTAssertFalse(try Bcrypt.verify("", against: hash))
        XCTAssertNotEqual(try Bcrypt.hash("same", cost: 4), try Bcrypt.hash("same", cost: 4), "salt must be fresh")
        let unicode = try Bcrypt.hash("pässwörd ✓", cost: 4)
        XCTAssertTrue(try Bcrypt.verify("pässwörd ✓", against: unicode))
    }

    func testDefaultCostIsTen() throws {
        XCTAssertEqual(Bcrypt.defaultCost, 10)
        let hash = try Bcrypt.hash("password")
        XCTAssertTrue(hash.hasPrefix("$2b$10$"))
        XCTAssertTrue(try Bcrypt.verify("password", against: hash))
    }

    func testCost10TwoAHashVerifies() throws {
        // The shape Go's golang.org/x/crypto/bcrypt (GoTrue) stores: $2a$ at cost 10. Made outside
        // this code with Python's crypt.crypt("correct horse battery staple", "$2a$10$abcdefghijklmnopqrstuu").
        let hash = "$2a$10$abcdefghijklmnopqrstuuGGgFFcYeueaAql8Z7U7CnCTRw4DR77W"
        XCTAssertEqual(Bcrypt.cost(of: hash), 10)
        XCTAssertTrue(try Bcrypt.verify("correct horse battery staple", against: hash))
        XCTAssertFalse(try Bcrypt.verify("correct horse battery staplf", against: hash))
        XCTAssertFalse(Bcrypt.needsRehash(hash))
    }

    func testSeventyTwoByteLimit() throws {
        let limit = String(repeating: "a", count: 72)
        let hash = try Bcrypt.hash(limit, cost: 4)
        XCTAssertTrue(try Bcrypt.verify(limit, against: hash))
        assertThrows(try Bcrypt.hash(limit + "a", cost: 4), CryptoError.passwordTooLong)
        // Bytes, not characters: 24 three-byte characters are 72 bytes; one more is 75.
        XCTAssertNoThrow(try Bcrypt.hash(String(repeating: "✓", count: 24), cost: 4))
        assertThrows(try Bcrypt.hash(String(repeating: "✓", count: 25), cost: 4), CryptoError.passwordTooLong)
        // bcrypt itself would match on the first 72 bytes; verify refuses instead.
        XCTAssertFalse(try Bcrypt.verify(limit + "anything", against: hash))
    }

    func testNULIsRefused() throws {
        assertThrows(try Bcrypt.hash("abc\u{0}def", cost: 4), CryptoError.passwordContainsNUL)
        let hash = try Bcrypt.hash("abc", cost: 4)
        XCTAssertFalse(try Bcrypt.verify("abc\u{0}def", against: hash))
    }

    func testCostIsValidated() {
        XCTAssertThrowsError(try Bcrypt.hash("x", cost: 3))
        XCTAssertThrowsError(try Bcrypt.hash("x", cost: 32))
    }

    func testNeedsRehash() throws {
        let hash = try Bcrypt.hash("x", cost: 4)
        XCTAssertTrue(Bcrypt.needsRehash(hash))
        XCTAssertFalse(Bcrypt.needsRehash(hash, cost: 4))
        XCTAssertTrue(Bcrypt.needsRehash(hash, cost: 5))
        XCTAssertFalse(Bcrypt.needsRehash("$2y$10$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq"))
        XCTAssertTrue(Bcrypt.needsRehash("not a hash"))
    }

    func testMalformedHashesAreRefused() throws {
        let good = "$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq"
        for hash in [
            "", "*0", "*1", "x", String(good.dropLast()), good + "q",
            "$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e",  // Openwall's buggy-compat variant
            "$2$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCqq",
            "$2b$03$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq",  // cost below 4
            "$2b$32$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq",
            "$2b$5$$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq",
            "$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUl+q",
            "$1$deadbeef$0Huu6KHrKLVWfqa4WljDE0",                          // md5crypt
            "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/",
            "ab01FAX.bQRSU",                                                // DES crypt
        ] {
            assertThrows(try Bcrypt.verify("U*U", against: hash), CryptoError.invalidPasswordHash)
        }
    }
}

import Domain
import Foundation
import XCTest

final class Base64URLTests: XCTestCase {
    func testRFC4648Vectors() {
        // RFC 4648 §10 test vectors, with the padding removed as base64url-without-padding requires.
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64URL.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64URL.decode(encoded), Array(plain.utf8))
        }
    }

    func testURLSafeAlphabet() {
        // 0xfb 0xff is "+/8=" in the standard alphabet.
        XCTAssertEqual(Base64URL.encode([0xfb, 0xff]), "-_8")
        XCTAssertEqual(Base64URL.decode("-_8"), [0xfb, 0xff])
    }

    func testRejectsEverythingButTheCanonicalForm() {
        for text in ["Zg==", "Zg=", "Zm9v=", "Z", "Zm9vY", "Zm+v", "Zm/v", "Zm9v Zg", " Zm9v", "Zm9v\n",
                     "Zh", "Zm9", "Zm8=", "Zm9vYmF", "Zm9vYmE\u{0}", "Zm9vé", "-_9"] {
            XCTAssertNil(Base64URL.decode(text), text)
        }
    }

    func testAgreesWithFoundationOnRandomInput() {
        var rng = SystemRandomNumberGenerator()
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            XCTAssertEqual(Base64URL.encode(bytes), expected)
            XCTAssertEqual(Base64URL.decode(expected), bytes)
        }
    }
}

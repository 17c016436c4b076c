@testable import Crypto
import Domain
import XCTest

/// A token's header and claims are read by the shared JSON parser with the strictest options;
/// these are the rules a JWT verifier needs from it.
final class TokenSegmentJSONTests: XCTestCase {
    func parse(_ text: String) throws -> WireJSON {
        try parse(bytes: Array(text.utf8))
    }

    func parse(bytes: [UInt8]) throws -> WireJSON {
        try WireJSON.parse(bytes: bytes, options: JWTSigner.segmentParsing)
    }

    func testParsesValidDocumentsKeepingNumberText() throws {
        XCTAssertEqual(try parse(#" { "a" : [1, -2.5, 3e2, 0, -0.0, true, false, null, "x"], "b": {} } "#),
                       .object(["a": .array([.number("1"), .number("-2.5"), .number("3e2"), .number("0"), .number("-0.0"),
                                             .bool(true), .bool(false), .null, .string("x")]),
                                "b": .object([:])]))
        XCTAssertEqual(try parse(#""\"\\\/\b\f\n\r\t\u0041\u00e9\ud83d\ude00""#), .string("\"\\/\u{8}\u{c}\n\r\tAé😀"))
        XCTAssertEqual(try parse("\"é✓\""), .string("é✓"))
        XCTAssertEqual(try parse(#""\u0000""#), .string("\u{0}"))
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse("1E+2"), .number("1E+2"))
    }

    func testRejectsDuplicateKeysAtAnyDepth() {
        for text in [#"{"a":1,"a":1}"#, #"{"a":1,"b":{"c":1,"c":2}}"#, #"[{"x":0,"x":0}]"#,
                     #"{"alg":"HS256","\u0061lg":"none"}"#] {
            XCTAssertThrowsError(try parse(text), text)
        }
    }

    func testRejectsInvalidJSON() {
        let invalid = [
            "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{,}", "[,1]", "{\"a\" 1}", "{a:1}", "{'a':1}",
            "01", "1.", ".5", "+1", "-", "1e", "1e+", "--1", "0x10", "NaN", "Infinity", "-Infinity", "1e400",
            "tru", "nul", "True", "\"abc", "\"a\nb\"", "\"\u{1}\"", #""\x""#, #""\u12""#, #""\u12G4""#,
            #""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud800x""#, "{} x", "[] []", "1 2",
        ]
        for text in invalid {
            XCTAssertThrowsError(try parse(text), text)
        }
        // Invalid UTF-8 inside a string: a stray continuation byte, an overlong "/", an encoded surrogate, a cut sequence.
        for bytes: [UInt8] in [[0x22, 0xff, 0x22], [0x22, 0xc0, 0xaf, 0x22], [0x22, 0xed, 0xa0, 0x80, 0x22], [0x22, 0xe2, 0x9c, 0x22]] {
            XCTAssertThrowsError(try parse(bytes: bytes), "\(bytes)")
        }
    }

    func testNestingIsBounded() throws {
        let ok = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        XCTAssertNoThrow(try parse(ok))
        let deep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        XCTAssertThrowsError(try parse(deep))
        XCTAssertThrowsError(try parse(String(repeating: "{\"a\":", count: 10_000)))
        XCTAssertThrowsError(try parse(String(repeating: "[", count: 100_000)))
    }

    func testASegmentMustBeAnObject() throws {
        XCTAssertThrowsError(try JWTSigner.parseObject(Array("[]".utf8)))
        XCTAssertThrowsError(try JWTSigner.parseObject(Array("\"x\"".utf8)))
        XCTAssertEqual(try JWTSigner.parseObject(Array("{}".utf8)), [:])
    }

    func testWrittenClaimsReadBackUnchanged() throws {
        let value = WireJSON.object([
            "b": .array([.number("1767225600"), .number("1.5"), .number("-3"), .bool(true), .null]),
            "a": .string("quote\" backslash\\ nl\n tab\t ctl\u{1} é ✓ /"),
        ])
        XCTAssertEqual(value.jsonText, #"{"b":[1767225600,1.5,-3,true,null],"a":"quote\" backslash\\ nl\n tab\t ctl\u0001 é ✓ /"}"#)
        XCTAssertEqual(try parse(value.jsonText), value)
    }
}

import Domain
import Foundation
import XCTest

final class WireJSONTests: XCTestCase {
    func testNumbersKeepTheirTextAndDecimalsAreExact() throws {
        let json = try WireJSON.parse(#"{"cost":0.0000047,"exp":4.7e-06,"price":"0.0000025","n":5,"f":5.0,"neg":-12.50}"#)
        XCTAssertEqual(json["cost"], .number("0.0000047"))
        XCTAssertEqual(json["cost"]?.decimal, Decimal(string: "0.0000047"))
        XCTAssertEqual(json["exp"]?.decimal, Decimal(string: "0.0000047"))
        XCTAssertEqual(json["price"]?.decimal, Decimal(string: "0.0000025"))
        XCTAssertEqual(json["n"]?.int, 5)
        XCTAssertEqual(json["f"]?.int, 5)
        XCTAssertNil(WireJSON.number("5.5").int)
        XCTAssertEqual(json["neg"]?.decimal, Decimal(string: "-12.5"))
        XCTAssertEqual(json.jsonText, #"{"cost":0.0000047,"exp":4.7e-06,"price":"0.0000025","n":5,"f":5.0,"neg":-12.50}"#)
    }

    func testStringsEscapesAndUnicode() throws {
        let json = try WireJSON.parse(#"["a\"b\\c\/d\n\t", "\u00e9\ud83d\ude00", "plain ✓"]"#)
        XCTAssertEqual(json[0]?.string, "a\"b\\c/d\n\t")
        XCTAssertEqual(json[1]?.string, "é😀")
        XCTAssertEqual(json[2]?.string, "plain ✓")
        let written = WireJSON.array([.string("q\"\\\n\u{1}é")]).jsonText
        XCTAssertEqual(written, #"["q\"\\\n\u0001é"]"#)
        XCTAssertEqual(try WireJSON.parse(written)[0]?.string, "q\"\\\n\u{1}é")
    }

    func testObjectsKeepOrderAndNilRemovesKeys() {
        var object = WireJSONObject()
        object["b"] = 1
        object["a"] = "x"
        object["c"] = nil
        object["b"] = 2
        XCTAssertEqual(WireJSON.object(object).jsonText, #"{"b":2,"a":"x"}"#)
        object["b"] = nil
        XCTAssertEqual(object.keys, ["a"])
        XCTAssertEqual(WireJSON.decimal(Decimal(string: "0.75")!).jsonText, "0.75")
    }

    func testInvalidDocumentsAreRejected() {
        for text in ["", "{", "[1,]", "{\"a\":}", "01", "1.", "-", "\"\u{1}\"", "tru", "[1] x", "\"\\ud800\"", "{\"a\" 1}"] {
            XCTAssertThrowsError(try WireJSON.parse(text), "accepted \(text.debugDescription)")
        }
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        XCTAssertThrowsError(try WireJSON.parse(deep))
    }
}

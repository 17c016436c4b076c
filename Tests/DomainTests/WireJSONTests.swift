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

    /// Small objects are searched member by member and larger ones through a table
    /// (`WireJSONObject.scannedUpTo`): on either side of that size, and across it, setting, replacing,
    /// removing and reading answer as a dictionary that keeps insertion order would.
    func testObjectsAnswerAlikeBelowAndAboveTheSizeWhereTheyStartATable() {
        var object = WireJSONObject()
        var reference: [(key: String, value: Int)] = []
        func check(_ step: String) {
            XCTAssertEqual(object.keys, reference.map(\.key), step)
            for entry in reference { XCTAssertEqual(object[entry.key], .int(entry.value), "\(step): \(entry.key)") }
            XCTAssertNil(object["absent"], step)
        }
        let size = WireJSONObject.scannedUpTo * 3
        for number in 0..<size {
            object["k\(number)"] = .int(number)
            reference.append(("k\(number)", number))
            check("after adding k\(number)")
        }
        XCTAssertEqual(object.count, size)
        // Replacing keeps the place; removing moves the later members up, table or not.
        object["k3"] = .int(-3)
        reference[3].value = -3
        for removed in ["k0", "k\(size - 1)", "k20", "k5"] {
            object[removed] = nil
            reference.removeAll { $0.key == removed }
            check("after removing \(removed)")
        }
        object["k0"] = .int(100)
        reference.append(("k0", 100))
        check("after adding k0 again")
        let parsed = try? WireJSON.parse("{" + (0..<size).map { "\"m\($0)\":\($0)" }.joined(separator: ",") + "}")
        XCTAssertEqual(parsed?["m\(size - 1)"], WireJSON.int(size - 1))
        XCTAssertEqual(parsed?["m0"], WireJSON.int(0))
        let duplicateLate = "{" + (0..<size).map { "\"m\($0)\":\($0)" }.joined(separator: ",") + ",\"m\(size - 2)\":1}"
        XCTAssertThrowsError(try WireJSON.parse(duplicateLate, options: WireJSONParseOptions(maximumDepth: 64, rejectsDuplicateKeys: true, requiresValidUTF8: true)),
                             "a repeated name past the table's size is still found")
        XCTAssertThrowsError(try WireJSON.parse(#"{"a":1,"b":2,"a":3}"#, options: WireJSONParseOptions(maximumDepth: 64, rejectsDuplicateKeys: true, requiresValidUTF8: true)),
                             "a repeated name in a small object is still found")
    }

    /// Strings are written in runs between the bytes that need an escape: texts that mix long plain
    /// runs with quotes, backslashes, slashes, control characters and non-ASCII read back as written,
    /// the escapes where they belong.
    func testStringsWithEscapesAmidLongRunsReadBackAsWritten() throws {
        let pieces = ["plain text ", "\"", "\\", "/", "\n", "\u{1}", "\u{1F}", "é", "🎬", String(repeating: "x", count: 300), "\t\r"]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let text = (0..<Int.random(in: 0...12, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            let written = WireJSON.array([.string(text)]).jsonText
            XCTAssertEqual(try WireJSON.parse(written)[0]?.string, text, written)
            XCTAssertFalse(written.utf8.dropFirst(2).dropLast(2).contains { $0 < 0x20 }, "control characters are escaped: \(written)")
        }
        XCTAssertEqual(WireJSON.array([.string("a\"b\\c/d\u{1}e")]).jsonText, #"["a\"b\\c/d\u0001e"]"#)
    }

    func testInvalidDocumentsAreRejected() {
        for text in ["", "{", "[1,]", "{\"a\":}", "01", "1.", "-", "\"\u{1}\"", "tru", "[1] x", "\"\\ud800\"", "{\"a\" 1}"] {
            XCTAssertThrowsError(try WireJSON.parse(text), "accepted \(text.debugDescription)")
        }
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        XCTAssertThrowsError(try WireJSON.parse(deep))
    }
}

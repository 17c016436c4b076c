@testable import APIServer
import Domain
import Foundation
import XCTest

/// `JSONCoding.encoder` must write what `JSONCoding.foundationEncoder` (Foundation's `JSONEncoder`
/// in the API's dialect) writes, byte for byte; some outputs are also pinned literally, so a change
/// in either one shows.
final class ResponseEncoderTests: XCTestCase {
    private func ours<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONCoding.encoder.encode(value), as: UTF8.self)
    }

    private func foundation<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONCoding.foundationEncoder.encode(value), as: UTF8.self)
    }

    private func assertSame<T: Encodable>(_ value: T, _ expected: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let written = try ours(value)
        XCTAssertEqual(written, try foundation(value), "differs from Foundation", file: file, line: line)
        if let expected { XCTAssertEqual(written, expected, file: file, line: line) }
    }

    /// The stream itself, without the fallback: nil when it handed the value to Foundation.
    private func streamed<T: Encodable>(_ value: T) throws -> String? {
        let writer = JSONStreamWriter()
        try writer.writeTopLevel(value)
        return writer.unsupported ? nil : String(decoding: writer.bytes.array, as: UTF8.self)
    }

    // MARK: Strings

    private struct Text: Encodable { let text: String }

    func testStringEscapesMatchFoundation() throws {
        try assertSame(Text(text: "quote \" backslash \\ slash / tab \t end"), #"{"text":"quote \" backslash \\ slash / tab \t end"}"#)
        try assertSame(Text(text: "\u{08}\u{0C}\n\r\t"), #"{"text":"\b\f\n\r\t"}"#)
        try assertSame(Text(text: "\u{00}\u{01}\u{1F}\u{7F}"), #"{"text":"\u0000\u0001\u001f"# + "\u{7F}\"}")
        try assertSame(Text(text: "é 中文 👩‍👩‍👧 e\u{301} \u{2028}\u{2029} \u{FEFF}"), "{\"text\":\"é 中文 👩‍👩‍👧 e\u{301} \u{2028}\u{2029} \u{FEFF}\"}")
        try assertSame(Text(text: ""), #"{"text":""}"#)
        try assertSame(Text(text: String(repeating: "long text with \"quotes\" ", count: 200)))
        for scalar in 0..<0x80 {
            try assertSame(Text(text: "a\(Character(Unicode.Scalar(UInt8(scalar))))b"))
        }
    }

    // MARK: Keys

    private struct CamelKeys: Encodable {
        let userID = 1
        let myURLProperty = 2
        let already_snake = 3
        let value2x = 4
        let _leading = 5
        let trailing_ = 6
        let HTTPStatus = 7
        let aB = 8
        let createdAt = 9
        let ünïcodeKey = 10
    }

    func testKeysAreConvertedToSnakeCaseAndSortedAsFoundationDoes() throws {
        try assertSame(CamelKeys(), #"{"_leading":5,"a_b":8,"already_snake":3,"created_at":9,"h_ttp_status":7,"my_url_property":2,"# +
                       #""trailing_":6,"user_id":1,"value2x":4,"ünïcode_key":10}"#)
    }

    func testDictionaryKeysAreDataNotNames() throws {
        let metadata: [String: WireJSON] = ["firstName": .string("Ada"), "b": .int(1), "B": .int(2), "_": .null,
                                            "é": .bool(true), "a b": .array([]), "Z9": .object(["innerKey": .number("1.5")])]
        try assertSame(metadata, #"{"B":2,"Z9":{"innerKey":1.5},"_":null,"a b":[],"b":1,"firstName":"Ada","é":true}"#)
        try assertSame(["outer": metadata])
        try assertSame([1: "one", 20: "twenty", 3: "three"])
        try assertSame([String: Int]())
    }

    private struct Repeated: Encodable {
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CamelKey.self)
            try container.encode(1, forKey: CamelKey(stringValue: "zebra"))
            try container.encode(2, forKey: CamelKey(stringValue: "apple"))
            try container.encode(3, forKey: CamelKey(stringValue: "zebra"))
        }
    }

    private struct CamelKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func testTheLastOfRepeatedKeysWins() throws {
        try assertSame(Repeated(), #"{"apple":2,"zebra":3}"#)
    }

    // MARK: Optionals and nulls

    private struct Optionals: Encodable {
        let absent: Int?
        let doubleAbsent: Int??
        let innerNil: Int??
        let present: Int??
        let list: [Int?]
        let explicitNull: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(absent, forKey: .absent)
            try container.encodeIfPresent(doubleAbsent, forKey: .doubleAbsent)
            try container.encodeIfPresent(innerNil, forKey: .innerNil)
            try container.encodeIfPresent(present, forKey: .present)
            try container.encode(list, forKey: .list)
            try container.encode(explicitNull, forKey: .explicitNull)
        }

        enum CodingKeys: String, CodingKey { case absent, doubleAbsent, innerNil, present, list, explicitNull }
    }

    private struct Synthesized: Encodable {
        let maybe: String?
        let nested: Int??
    }

    func testNestedOptionalsAndNullsMatchFoundation() throws {
        try assertSame(Optionals(absent: nil, doubleAbsent: nil, innerNil: .some(nil), present: 4, list: [1, nil, 3], explicitNull: nil),
                       #"{"explicit_null":null,"inner_nil":null,"list":[1,null,3],"present":4}"#)
        try assertSame(Synthesized(maybe: nil, nested: .some(nil)), #"{"nested":null}"#)
        try assertSame(Synthesized(maybe: "x", nested: nil), #"{"maybe":"x"}"#)
        try assertSame([Synthesized?.none, Synthesized(maybe: nil, nested: 1)], #"[null,{"nested":1}]"#)
    }

    // MARK: Dates, numbers and other scalars

    private struct When: Encodable { let at: Date }

    func testDatesAreRFC3339WithMillisecondsInUTC() throws {
        try assertSame(When(at: Date(timeIntervalSince1970: 0)), #"{"at":"1970-01-01T00:00:00.000Z"}"#)
        try assertSame(When(at: Date(timeIntervalSince1970: 1_764_000_000.123456)), #"{"at":"2025-11-24T16:00:00.123Z"}"#)
        try assertSame(When(at: Date(timeIntervalSince1970: -1.5)), #"{"at":"1969-12-31T23:59:58.500Z"}"#)
        try assertSame(When(at: Date(timeIntervalSince1970: 253_402_300_799.999)))
        try assertSame([Date(timeIntervalSince1970: 951_782_400)], #"["2000-02-29T00:00:00.000Z"]"#)
        try assertSame(Optional(Date(timeIntervalSince1970: 86_400)), #""1970-01-02T00:00:00.000Z""#)
    }

    private struct Numbers: Encodable {
        let int = Int.min
        let int64 = Int64.max
        let uint64 = UInt64.max
        let int8 = Int8(-128)
        let double = 0.1
        let whole = 1.0
        let large = 1e20
        let tiny = Double.leastNonzeroMagnitude
        let negativeZero = -0.0
        let float = Float(3.25)
        let flag = true
        let off = false
        let decimal = Decimal(string: "12.50")
        let longDecimal = Decimal(string: "-0.0000000001")
        let data = Data([0, 1, 2, 250, 255])
        let url = URL(string: "https://example.com/a?b=c")
    }

    func testNumbersDecimalsDataAndURLsMatchFoundation() throws {
        try assertSame(Numbers())
        try assertSame(Numbers(), #"{"data":"AAEC+v8=","decimal":12.5,"double":0.1,"flag":true,"float":3.25,"int":-9223372036854775808,"# +
                       #""int64":9223372036854775807,"int8":-128,"large":1e+20,"long_decimal":-0.0000000001,"negative_zero":-0,"off":false,"# +
                       #""tiny":5e-324,"uint64":18446744073709551615,"url":"https://example.com/a?b=c","whole":1}"#)
    }

    func testMoneyIsAnExactDecimalString() throws {
        let amounts = try ["0", "12.5", "-3", "0.0000000001", "99999999999.99"].map { try Money(parsing: $0, allowNegative: true) }
        try assertSame(amounts, #"["0.00","12.50","-3.00","0.0000000001","99999999999.99"]"#)
    }

    /// Money has its own writer (see `JSONStreamWriter.writeMoney`): it must print `jsonString`.
    func testMoneyWriterPrintsJSONStringForEveryShapeOfDecimal() throws {
        var amounts: [Money] = try ["0", "0.00", "1", "-1", "0.5", "12.50", "-0.0000000001", "1000", "99999999999.99"].map {
            try Money(parsing: $0, allowNegative: true)
        }
        amounts += try [Decimal(sign: .plus, exponent: -3, significand: 12500), Decimal(sign: .minus, exponent: 2, significand: 7),
                        Decimal(sign: .plus, exponent: -10, significand: 1), Decimal(sign: .plus, exponent: -4, significand: 25),
                        Decimal(sign: .plus, exponent: 0, significand: 0)].map { try Money(exactly: $0) }
        amounts.append(Money(roundingToMaximumScale: Decimal(string: "123456789012345678901234567.123456789")!))
        amounts.append(Money(roundingToMaximumScale: Decimal(string: "-18446744073709551616.5")!))
        amounts.append(Money(roundingToMaximumScale: Decimal(string: "18446744073709551615")!))
        var generator = SplitMix(seed: 42)
        for _ in 0..<3000 {
            let units = Int64.random(in: -999_999_999_999_999...999_999_999_999_999, using: &generator)
            let a = try Money(units: units, scale: Int.random(in: 0...10, using: &generator))
            let b = try Money(units: Int64.random(in: 0...99_999, using: &generator), scale: Int.random(in: 0...6, using: &generator))
            amounts += [a, a - b, a + b, Money(roundingToMaximumScale: a.amount / 3)]
        }
        let written = try ours(amounts)
        XCTAssertEqual(written, "[" + amounts.map { "\"\($0.jsonString)\"" }.joined(separator: ",") + "]")
        XCTAssertEqual(written, try foundation(amounts))
    }

    func testNonConformingNumbersFailAsFoundationDoes() throws {
        XCTAssertThrowsError(try JSONCoding.encoder.encode(["x": Double.nan]))
        XCTAssertThrowsError(try JSONCoding.encoder.encode([Double.infinity]))
    }

    // MARK: Containers

    private struct Empty: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    private struct HoldsEmpty: Encodable { let inner = Empty() }

    func testAValueThatWritesNothingIsAnEmptyObjectOrAnError() throws {
        try assertSame(HoldsEmpty(), #"{"inner":{}}"#)
        try assertSame([Empty()], "[{}]")
        XCTAssertThrowsError(try JSONCoding.foundationEncoder.encode(Empty()))
        XCTAssertThrowsError(try JSONCoding.encoder.encode(Empty()))
    }

    func testEmptyAndNestedContainers() throws {
        try assertSame([[Int]](), "[]")
        try assertSame([[1, 2], [], [3]], "[[1,2],[],[3]]")
        try assertSame(["a": [["b": [String]()]]], #"{"a":[{"b":[]}]}"#)
        try assertSame("top-level string", #""top-level string""#)
        try assertSame(42, "42")
    }

    private struct UsesNestedContainers: Encodable {
        enum Outer: String, CodingKey { case firstPart, second }
        enum Inner: String, CodingKey { case deepValue }

        func encode(to encoder: any Encoder) throws {
            var outer = encoder.container(keyedBy: Outer.self)
            var inner = outer.nestedContainer(keyedBy: Inner.self, forKey: .firstPart)
            try outer.encode("after", forKey: .second)
            try inner.encode(7, forKey: .deepValue)
        }
    }

    private struct UsesSuperEncoder: Encodable {
        enum Keys: String, CodingKey { case ownValue, inheritedValue }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(1, forKey: .ownValue)
            var inherited = container.superEncoder().container(keyedBy: Keys.self)
            try inherited.encode(2, forKey: .inheritedValue)
            var list = container.nestedUnkeyedContainer(forKey: .inheritedValue)
            try list.encode(3)
        }
    }

    func testNestedContainersGoToFoundationAndGiveItsBytes() throws {
        XCTAssertNil(try streamed(UsesNestedContainers()), "a nested container written out of order cannot be streamed")
        try assertSame(UsesNestedContainers(), #"{"first_part":{"deep_value":7},"second":"after"}"#)
        XCTAssertNil(try streamed(UsesSuperEncoder()), "a super encoder cannot be streamed")
        try assertSame(UsesSuperEncoder())
    }

    func testOurBodiesAreStreamedWithoutTheFallback() throws {
        let project = Project(id: UUID(uuidString: "0b6f1f3e-1d7a-4c1e-9a51-7f1b2c3d4e5f")!, name: "Name \"quoted\" / ✓",
                              description: nil, archivedAt: nil, createdAt: Date(timeIntervalSince1970: 1_764_000_000.5),
                              updatedAt: Date(timeIntervalSince1970: 1_764_000_001), version: 3,
                              budget: BudgetSummary(limit: try Money(parsing: "100.5"), period: .monthly, spent: try Money(parsing: "1.25"),
                                                    reserved: try Money(parsing: "0"), periodStart: Date(timeIntervalSince1970: 1_761_955_200)))
        let page = ProjectPageBody(ProjectPage(items: [project, project], next: nil))
        XCTAssertNotNil(try streamed(page))
        try assertSame(page)
        try assertSame(ProjectBody(project), #"{"allow_unpriced":false,"archived":false,"archived_at":null,"budget":{"limit":"100.50","period":"monthly","# +
                       #""period_start":"2025-11-01T00:00:00.000Z","remaining":"99.25","reserved":"0.00","spent":"1.25"},"# +
                       #""created_at":"2025-11-24T16:00:00.500Z","description":null,"id":"0b6f1f3e-1d7a-4c1e-9a51-7f1b2c3d4e5f","# +
                       #""name":"Name \"quoted\" / ✓","updated_at":"2025-11-24T16:00:01.000Z","version":3}"#)
        let problem = Problem(status: 422, code: "validation_failed", title: "Unprocessable Content", detail: "Bad \"value\"\n")
        let response = problem.response(requestID: "req-1")
        let expected = try JSONCoding.foundationEncoder.encode(ProblemShape(type: "/problems/validation_failed", title: "Unprocessable Content",
                                                                            status: 422, detail: "Bad \"value\"\n", code: "validation_failed",
                                                                            message: "Bad \"value\"\n", requestId: "req-1"))
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), String(decoding: expected, as: UTF8.self))
    }

    /// The members `Problem.response` writes when there are no field errors.
    private struct ProblemShape: Encodable {
        let type: String
        let title: String
        let status: Int
        let detail: String
        let code: String
        let message: String
        let requestId: String
    }

    // MARK: Random values

    func testRandomJSONValuesMatchFoundation() throws {
        var generator = SplitMix(seed: 0x5EED)
        for _ in 0..<400 {
            let value = WireJSON.random(depth: 0, using: &generator)
            XCTAssertEqual(try ours(value), try foundation(value))
        }
    }
}

/// A small deterministic generator, so a failure repeats.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private extension WireJSON {
    static let alphabet: [Character] = ["a", "Z", "_", "0", " ", "\"", "\\", "/", "\n", "\u{01}", "\u{1F}", "é", "ß", "中", "👍", "e\u{301}", "\u{7F}"]

    static func randomText<G: RandomNumberGenerator>(using generator: inout G) -> String {
        String((0..<Int.random(in: 0...8, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? "a" })
    }

    static func random<G: RandomNumberGenerator>(depth: Int, using generator: inout G) -> WireJSON {
        switch Int.random(in: 0..<(depth < 3 ? 7 : 5), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(String(Int64.random(in: Int64.min...Int64.max, using: &generator)))
        case 3: return .number("\(Double(Int.random(in: -1_000_000...1_000_000, using: &generator)) / 1024)")
        case 4: return .string(randomText(using: &generator))
        case 5: return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in random(depth: depth + 1, using: &generator) })
        default:
            var object = WireJSONObject()
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                object[randomText(using: &generator)] = random(depth: depth + 1, using: &generator)
            }
            return .object(object)
        }
    }
}

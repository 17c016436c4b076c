@testable import APIServer
import Domain
import Foundation
import XCTest

/// The bodies that write themselves (`JSONWritable`) must write what Foundation's encoder writes
/// for the same body in the API's dialect (`JSONCoding.foundationEncoder`), byte for byte, for
/// every shape of their members: nulls and values, escapes, non-ASCII, every shape of amount.
final class ResponseWriterTests: XCTestCase {
    private func direct(_ value: some JSONWritable) -> String {
        let writer = JSONStreamWriter()
        value.writeJSON(to: writer)
        return String(decoding: writer.bytes.array, as: UTF8.self)
    }

    private func assertSameAsFoundation(_ value: some JSONWritable, file: StaticString = #filePath, line: UInt = #line) throws {
        let foundation = String(decoding: try JSONCoding.foundationEncoder.encode(value), as: UTF8.self)
        XCTAssertEqual(direct(value), foundation, file: file, line: line)
        // And the central encoder takes the direct path for it.
        XCTAssertEqual(String(decoding: try JSONCoding.encoder.encode(value), as: UTF8.self), foundation, file: file, line: line)
    }

    private static let texts = [
        "", "plain", "Project 7 – “quoted” \\ ünïcode", "quote \" backslash \\ slash / end",
        "\u{00}\u{01}\u{08}\u{09}\u{0A}\u{0C}\u{0D}\u{1F}\u{7F}", "line\u{2028}separator\u{2029}paragraph",
        "中文 👩‍👩‍👧 e\u{301} \u{FEFF}", String(repeating: "long \"text\" ", count: 100),
    ]

    private static let amounts: [Money?] = [
        nil, Money.zero, money("0.000001"), money("1"), money("10.5"), money("-3.25"), money("123456789.123456"),
        money("1000000"), money("0.10"), money("99999999999999.999999"),
    ]

    private static func money(_ text: String) -> Money {
        (try? Money(exactly: Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) ?? 0)) ?? .zero
    }

    private static let dates: [Date?] = [
        nil, Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_764_600_000.123456),
        Date(timeIntervalSince1970: 1_764_600_000.9995), Date(timeIntervalSince1970: -86_400.5),
    ]

    private static func project(_ index: Int) -> Project {
        let limit = amounts[index % amounts.count]
        let spent = amounts[(index + 3) % amounts.count] ?? .zero
        let reserved = amounts[(index + 5) % amounts.count] ?? .zero
        return Project(id: UUID(), name: texts[index % texts.count], description: index % 3 == 0 ? nil : texts[(index + 1) % texts.count],
                       archivedAt: dates[index % dates.count], createdAt: dates[(index + 1) % dates.count] ?? Date(),
                       updatedAt: dates[(index + 2) % dates.count] ?? Date(), version: [1, 0, 42, Int64.max, -7][index % 5],
                       budget: BudgetSummary(limit: limit, period: index % 2 == 0 ? .monthly : .total, spent: spent, reserved: reserved,
                                             periodStart: dates[(index + 3) % dates.count] ?? Date(timeIntervalSince1970: 1_700_000_000)))
    }

    func testProjectBodiesAreFoundationsBytes() throws {
        let projects = (0..<40).map(Self.project)
        XCTAssertEqual(projects.count, 40)
        for project in projects {
            try assertSameAsFoundation(ProjectBody(project))
            try assertSameAsFoundation(BudgetBody(project.budget))
        }
        try assertSameAsFoundation(ProjectPageBody(ProjectPage(items: projects, next: nil)))
        try assertSameAsFoundation(ProjectPageBody(ProjectPage(items: projects,
                                                               next: ProjectCursor(sort: .name, key: "ünïcode \"key\"", id: UUID()))))
        try assertSameAsFoundation(ProjectPageBody(ProjectPage(items: [], next: nil)))
    }

    func testApiKeyBodiesAreFoundationsBytes() throws {
        let records = (0..<24).map { index in
            ApiKeyRecord(id: UUID(), provider: ProviderID.allCases[index % ProviderID.allCases.count], label: Self.texts[index % Self.texts.count],
                         mask: "sk-…" + String(index), status: ApiKeyStatus.allCases[index % ApiKeyStatus.allCases.count],
                         lastCheckedAt: Self.dates[index % Self.dates.count], lastUsedAt: Self.dates[(index + 2) % Self.dates.count],
                         createdAt: Self.dates[(index + 1) % Self.dates.count] ?? Date(), updatedAt: Date())
        }
        XCTAssertEqual(records.count, 24)
        for record in records { try assertSameAsFoundation(ApiKeyBody(record)) }
        try assertSameAsFoundation(ApiKeyList(data: records.map(ApiKeyBody.init)))
        try assertSameAsFoundation(ApiKeyList(data: []))
    }

    func testChatCompletionBodiesAreFoundationsBytes() throws {
        let usages = [
            ChatUsage(promptTokens: 0, completionTokens: 0, totalTokens: 0, promptTokensDetails: .init(cachedTokens: 0), costUsd: nil),
            ChatUsage(promptTokens: 1_000_000, completionTokens: 16, totalTokens: 1_000_016, promptTokensDetails: .init(cachedTokens: 512),
                      costUsd: "0.0000123456"),
            ChatUsage(promptTokens: Int.max, completionTokens: 7, totalTokens: Int.max, promptTokensDetails: .init(cachedTokens: 3), costUsd: ""),
        ]
        let completions = Self.texts.indices.map { index in
            ChatCompletion(generationID: UUID(), model: Self.texts[(index + 1) % Self.texts.count], created: [0, 1_764_600_000, -1][index % 3],
                           content: Self.texts[index], finishReason: ["stop", "length", "content_filter"][index % 3],
                           usage: usages[index % usages.count], costUSD: "0.00001")
        }
        XCTAssertEqual(completions.count, Self.texts.count)
        for completion in completions { try assertSameAsFoundation(completion.body()) }
        for usage in usages { try assertSameAsFoundation(usage) }
    }

    /// The id and date writers against what the bodies wrote before (`lowercasedString`, and
    /// `Timestamp.rfc3339` between quotes), over many random values and the edges of the calendar.
    func testUUIDsAndDatesAreWrittenAsTheirTexts() {
        var generator = SystemRandomNumberGenerator()
        var ids = (0..<2000).map { _ in UUID() }
        ids += [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
                UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255)),
                UUID(uuid: (0x0a, 0xb1, 0x2c, 0xd3, 0x4e, 0xf5, 0x6a, 0x7b, 0x8c, 0x9d, 0xae, 0xbf, 0xc0, 0xd1, 0xe2, 0xf3))]
        for id in ids {
            let writer = JSONStreamWriter()
            writer.writeUUID(id)
            XCTAssertEqual(String(decoding: writer.bytes.array, as: UTF8.self), "\"" + id.lowercasedString + "\"")
        }
        var dates = (0..<5000).map { _ in Date(timeIntervalSince1970: Double.random(in: -70_000_000_000...250_000_000_000, using: &generator)) }
        dates += [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -0.0005), Date(timeIntervalSince1970: 951_782_400),
                  Date(timeIntervalSince1970: 253_402_300_799.999), Date(timeIntervalSince1970: -62_135_596_800)]
        for date in dates {
            let writer = JSONStreamWriter()
            writer.writeDate(date)
            XCTAssertEqual(String(decoding: writer.bytes.array, as: UTF8.self), "\"" + Timestamp.rfc3339(date) + "\"")
        }
        XCTAssertEqual(ids.count + dates.count, 7008)
    }

    /// The word-at-a-time scan for bytes that need an escape, against the byte-by-byte rule, with
    /// each such byte at every position of an eight-byte word and in the tail, among non-ASCII
    /// bytes whose high bits could fool a word test; and strings written through it are Foundation's.
    func testEscapeScanFindsEveryByteThatNeedsOne() throws {
        var generator = SystemRandomNumberGenerator()
        let plain: [UInt8] = Array("aZ09 /~é✓".utf8) + [0x7F, 0x80, 0xA2, 0xDC, 0xE0, 0xFF, 0x21, 0x23, 0x5B, 0x5D]
        let special: [UInt8] = [0x00, 0x01, 0x08, 0x0A, 0x1F, UInt8(ascii: "\""), UInt8(ascii: "\\")]
        var checked = 0
        for length in 0...40 {
            for _ in 0..<60 {
                var bytes = (0..<length).map { _ in plain.randomElement(using: &generator) ?? 0x61 }
                if length > 0, Bool.random(using: &generator) {
                    bytes[Int.random(in: 0..<length, using: &generator)] = special.randomElement(using: &generator) ?? 0
                }
                let expected = bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
                XCTAssertEqual(bytes.withUnsafeBufferPointer { JSONStreamWriter.needsEscape($0) }, expected, "\(bytes)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 41 * 60)
        for _ in 0..<500 {
            let scalars = (0..<Int.random(in: 0...30, using: &generator)).map { _ in
                Character(UnicodeScalar([0x22, 0x5C, 0x0A, 0x01, 0x41, 0xE9, 0x2713, 0x1F600].randomElement(using: &generator) ?? 0x41) ?? "a")
            }
            let text = String(scalars)
            let writer = JSONStreamWriter()
            writer.writeString(text)
            XCTAssertEqual(String(decoding: writer.bytes.array, as: UTF8.self),
                           String(decoding: try JSONCoding.foundationEncoder.encode([text]).dropFirst().dropLast(), as: UTF8.self))
        }
    }

    /// RFC 8259: quotation mark, reverse solidus and U+0000–U+001F escaped (short forms where JSON
    /// has them, `\u00xx` otherwise); everything else, U+2028/2029 and non-ASCII included, as UTF-8.
    /// Swift strings hold only Unicode scalars, so a lone surrogate cannot reach the writer.
    func testTheReadinessBodyIsFoundationsBytes() throws {
        for (applied, pending) in [(0, 0), (35, 0), (Int.max, Int.min)] {
            try assertSameAsFoundation(HealthHandlers.Readiness(status: "ready", database: "ok", migrationsApplied: applied,
                                                                migrationsPending: pending))
        }
    }

    func testStringsAreEscapedPerRFC8259() {
        let body = ApiKeyBody(ApiKeyRecord(id: UUID(uuidString: "00000000-0000-0000-0000-00000000000A") ?? UUID(), provider: .openai,
                                           label: "\"\\/\u{00}\u{08}\u{09}\u{0A}\u{0C}\u{0D}\u{1F}\u{7F}\u{2028}\u{2029}é👩‍👩‍👧",
                                           mask: "m", status: .valid, lastCheckedAt: nil, lastUsedAt: nil,
                                           createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0.5)))
        XCTAssertEqual(direct(body), #"{"created_at":"1970-01-01T00:00:00.000Z","id":"00000000-0000-0000-0000-00000000000a","label":"\"\\/\u0000\b\t\n\f\r\u001f"#
                       + "\u{7F}\u{2028}\u{2029}é👩‍👩‍👧" + #"","last_checked_at":null,"last_used_at":null,"mask":"m","provider":"openai","status":"valid","updated_at":"1970-01-01T00:00:00.500Z"}"#)
        let parsed = try? JSONSerialization.jsonObject(with: Data(direct(body).utf8)) as? [String: Any]
        XCTAssertEqual(parsed?["label"] as? String, "\"\\/\u{00}\u{08}\u{09}\u{0A}\u{0C}\u{0D}\u{1F}\u{7F}\u{2028}\u{2029}é👩‍👩‍👧")
    }
}

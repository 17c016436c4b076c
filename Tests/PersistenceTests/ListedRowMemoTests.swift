import Domain
import Foundation
@testable import Persistence
import TestSupport
import XCTest

/// A listed generation is taken from the memo only when its row has the very bytes the remembered
/// record was decoded from, and then with the same version object; any other row is decoded again,
/// with a new version, and the memo stays bounded.
final class ListedRowMemoTests: XCTestCase {
    private let memo = ListedRowMemo<GenerationRecord>()

    private static func record(id: UUID, prompt: String) -> GenerationRecord {
        GenerationRecord(id: id, userID: UUID(), projectID: UUID(), kind: .text, prompt: prompt, settings: GenerationSettings(),
                         requestedProvider: nil, requestedModel: nil, provider: .local, model: "local-text", candidates: [],
                         status: .succeeded, estimate: Money.zero, actualCost: Money.zero, providerReportedCost: nil,
                         costBreakdown: nil, maxCost: nil, pricingVersion: "v", errorCode: nil, errorMessage: nil,
                         outputText: "out", providerTask: nil, cancelRequested: false, createdAt: Date(), updatedAt: Date(),
                         startedAt: nil, finishedAt: nil, costStatus: "priced")
    }

    /// One row shaped like a listed generation's (an id, a text, an amount, a JSON text).
    private func row(_ connection: PostgresConnection, id: UUID, prompt: String = "'hello'", cost: String = "1.5",
                     lines: String = "'[]'") throws -> PostgresRow {
        try XCTUnwrap(try connection.query(SQL(stringLiteral: """
            select '\(id.uuidString.lowercased())'::uuid as id, \(prompt)::text as prompt, \(cost)::numeric as actual_cost,
                   \(lines)::jsonb::text as cost_lines
            """)).first)
    }

    private func read(_ row: PostgresRow, id: UUID, counting decodes: inout Int) -> (GenerationRecord, RowVersion) {
        memo.record(of: row, id: id) {
            decodes += 1
            return Self.record(id: id, prompt: "decode \(decodes)")
        }
    }

    func testTheSameRowBytesGiveTheRememberedRecordAndVersion() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        let id = UUID()
        var decodes = 0
        let (first, firstVersion) = read(try row(connection, id: id), id: id, counting: &decodes)
        let (again, againVersion) = read(try row(connection, id: id), id: id, counting: &decodes)
        XCTAssertEqual(decodes, 1, "the identical row of a new result was not decoded")
        XCTAssertEqual(again, first)
        XCTAssertTrue(againVersion === firstVersion, "the same version object, so its JSON may be reused")
        // Another generation is remembered apart and leaves the first in place.
        let other = UUID()
        _ = read(try row(connection, id: other), id: other, counting: &decodes)
        XCTAssertEqual(decodes, 2)
        XCTAssertTrue(read(try row(connection, id: id), id: id, counting: &decodes).1 === firstVersion)
        XCTAssertEqual(decodes, 2)
    }

    func testAnyChangedByteIsDecodedAgainWithANewVersion() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        let id = UUID()
        var decodes = 0
        var (_, version) = read(try row(connection, id: id), id: id, counting: &decodes)
        let variants: [(String, PostgresRow)] = [
            ("an equal amount in other digits", try row(connection, id: id, cost: "1.50")),
            ("another amount", try row(connection, id: id, cost: "2")),
            ("NULL", try row(connection, id: id, cost: "null")),
            ("an empty text", try row(connection, id: id, prompt: "''")),
            ("NULL text", try row(connection, id: id, prompt: "null")),
            ("a canonically equal text", try row(connection, id: id, prompt: "'cafe\u{301}'")),
            ("the precomposed text", try row(connection, id: id, prompt: "'caf\u{E9}'")),
            ("a longer text", try row(connection, id: id, prompt: "'caf\u{E9}s'")),
            ("other cost lines", try row(connection, id: id, prompt: "'caf\u{E9}s'", lines: #"'[{"unit": "input_tokens"}]'"#)),
        ]
        XCTAssertEqual(variants.count, 9)
        for (index, (name, changed)) in variants.enumerated() {
            let (record, newVersion) = read(changed, id: id, counting: &decodes)
            XCTAssertEqual(decodes, index + 2, "\(name) was decoded")
            XCTAssertEqual(record.prompt, "decode \(index + 2)", name)
            XCTAssertFalse(newVersion === version, "\(name) has a new version")
            version = newVersion
        }
    }

    func testTheMemoStaysWithinItsBounds() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        var decodes = 0
        // Rows of 64 KiB: a shard of 256 KiB holds a few of them, never all 40.
        let big = "repeat('x', 65536)"
        for _ in 0..<40 {
            let id = UUID()
            _ = read(try row(connection, id: id, prompt: big), id: id, counting: &decodes)
        }
        XCTAssertEqual(decodes, 40)
        let shard = memo.memo.current
        XCTAssertLessThanOrEqual(shard.weight, memo.memo.weightPerShard)
        XCTAssertLessThan(shard.entries.count, 40, "entries were dropped to stay within the weight")
        // A row heavier than a whole shard is decoded every time and never kept.
        let huge = UUID()
        _ = read(try row(connection, id: huge, prompt: "repeat('y', 300000)"), id: huge, counting: &decodes)
        _ = read(try row(connection, id: huge, prompt: "repeat('y', 300000)"), id: huge, counting: &decodes)
        XCTAssertEqual(decodes, 42)
        XCTAssertNil(memo.memo.value(for: huge))
    }
}

import Domain
import Foundation
@testable import Persistence
import TestSupport
import XCTest

/// A page of projects is taken from the memo only for the same query over a result whose every
/// value has the very bytes it was decoded from; any other result is decoded again, and the memo
/// stays bounded.
final class ProjectPageMemoTests: XCTestCase {
    private static let user = UUID()
    private static let ids = (0..<3).map { _ in UUID() }

    /// A result shaped as the projects listing's (three rows), the first row's figures given as SQL.
    private func rows(_ connection: PostgresConnection, spent: String = "1.5", description: String = "null",
                      name: String = "'Launch'") throws -> [PostgresRow] {
        let ids = Self.ids.map { "'\($0.uuidString.lowercased())'::uuid" }.joined(separator: ", ")
        return try connection.query(SQL(stringLiteral: """
            select id, case when n = 1 then \(name)::text else 'Other ' || n end as name,
                   case when n = 1 then \(description)::text else 'd' end as description,
                   10.50::numeric as budget_limit, 'total' as budget_period, null::timestamptz as archived_at,
                   timestamptz '2026-11-30 10:00:00.123456+00' as created_at, timestamptz '2026-12-01 11:00:00+00' + n * interval '1 s' as updated_at,
                   3::bigint as version, case when n = 1 then \(spent)::numeric else 0 end as spent, 0.25::numeric as reserved,
                   timestamptz '2026-11-30 10:00:00.123456+00' as period_start, false as allow_unpriced,
                   n::text as updated_key, lower('p' || n) as name_key
            from unnest(array[\(ids)]) with ordinality as t(id, n) order by n
            """))
    }

    private func query(limit: String = "2") throws -> ProjectListQuery {
        try ProjectListQuery(archived: nil, search: nil, sort: nil, limit: limit, cursor: nil)
    }

    private func page(_ rows: [PostgresRow], _ query: ProjectListQuery, counting decodes: inout Int) throws -> ProjectPage {
        try ProjectPageMemo.page(of: rows, query: query, user: Self.user) {
            decodes += 1
            return try PostgresProjectStore.page(of: rows, query)
        }
    }

    func testTheSameBytesInANewResultGiveTheRememberedPage() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        var decodes = 0
        let first = try page(try rows(connection), try query(), counting: &decodes)
        XCTAssertEqual(first.items.map(\.id), Array(Self.ids.prefix(2)))
        XCTAssertNotNil(first.next, "a third row means another page")
        let again = try page(try rows(connection), try query(), counting: &decodes)
        XCTAssertEqual(decodes, 1, "the second, identical result was not decoded")
        XCTAssertEqual(again, first)
        XCTAssertEqual(again, try PostgresProjectStore.page(of: try rows(connection), try query()), "what decoding gives")
        // Another query over the same rows is another page.
        let whole = try page(try rows(connection), try query(limit: "3"), counting: &decodes)
        XCTAssertEqual(decodes, 2)
        XCTAssertEqual(whole.items.count, 3)
        XCTAssertNil(whole.next)
        // Each query is remembered apart: the first is still there.
        XCTAssertEqual(try page(try rows(connection), try query(), counting: &decodes), first)
        XCTAssertEqual(decodes, 2)
    }

    func testAnyChangedByteIsDecodedAgainEvenForAnEqualValue() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        var decodes = 0
        _ = try page(try rows(connection, spent: "1.5"), try query(), counting: &decodes)
        // 1.500 equals 1.5 but is other bytes: decoded again, so the page carries its own rows' representation.
        let padded = try page(try rows(connection, spent: "1.500"), try query(), counting: &decodes)
        XCTAssertEqual(decodes, 2)
        XCTAssertEqual(padded, try PostgresProjectStore.page(of: try rows(connection, spent: "1.500"), try query()))
        let changed = try page(try rows(connection, spent: "2"), try query(), counting: &decodes)
        XCTAssertEqual(decodes, 3)
        XCTAssertEqual(changed.items.first?.budget.spent, try Money(parsing: "2"))
        // NULL and the empty text are different results.
        let empty = try page(try rows(connection, spent: "2", description: "''"), try query(), counting: &decodes)
        XCTAssertEqual(decodes, 4)
        XCTAssertEqual(empty.items.first?.description, "")
        let null = try page(try rows(connection, spent: "2", description: "null"), try query(), counting: &decodes)
        XCTAssertEqual(decodes, 5)
        XCTAssertNil(null.items.first?.description)
        // A longer text that starts with the remembered one.
        let longer = try page(try rows(connection, spent: "2", name: "'Launches'"), try query(), counting: &decodes)
        XCTAssertEqual(decodes, 6)
        XCTAssertEqual(longer.items.first?.name, "Launches")
        // Fewer rows (the last page shrank).
        let fewer = try page(Array(try rows(connection, spent: "2", name: "'Launches'").prefix(2)), try query(), counting: &decodes)
        XCTAssertEqual(decodes, 7)
        XCTAssertNil(fewer.next)
    }

    func testAMemoStaysWithinItsBoundWhateverItIsGiven() {
        let memo = ThreadShardedMemo<Int, Int>(shards: 4, capacityPerShard: 8)
        for key in 0..<1_000 { memo.remember(key * 2, for: key) }
        XCTAssertLessThanOrEqual(memo.count, 4 * 8)
        XCTAssertEqual(memo.value(for: 999), 1_998, "the latest entry is kept")
        XCTAssertNil(memo.value(for: 0), "the oldest were dropped")

        let weighed = ThreadShardedMemo<Int, Int>(shards: 2, capacityPerShard: 1_000, weightPerShard: 100)
        for key in 0..<1_000 { weighed.remember(key, for: key, weight: 30) }
        XCTAssertLessThanOrEqual(weighed.weight, 2 * 100)
        XCTAssertLessThanOrEqual(weighed.count, 2 * 3)
        XCTAssertEqual(weighed.value(for: 999), 999)
        weighed.remember(-1, for: 999, weight: 101)
        XCTAssertNil(weighed.value(for: 999), "an entry heavier than a shard is not kept, nor is what it replaced")
        weighed.remember(7, for: 7, weight: 100)
        XCTAssertEqual(weighed.value(for: 7), 7, "an entry as heavy as a shard is kept")
    }
}

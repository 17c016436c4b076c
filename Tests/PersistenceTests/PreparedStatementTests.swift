import Foundation
@testable import Persistence
import TestSupport
import XCTest

/// Pipelined statements are parsed once per connection under a name (`PreparedStatements`); these
/// pin that a statement's rows and failures are what they were unnamed.
final class PreparedStatementTests: XCTestCase {
    private func pool() throws -> ConnectionPool {
        ConnectionPool(.init(url: try TestPostgresCluster.shared.createDatabase(), maximumConnections: 1))
    }

    private func namedStatements(like pattern: String, in pool: ConnectionPool) throws -> Int {
        try pool.withTransaction { transaction in
            try transaction.query("select count(*)::int as n from pg_prepared_statements where statement like \(pattern)")[0]
                .decode("n", as: Int.self)
        }
    }

    func testAStatementRunTwiceIsParsedOnceUnderAName() throws {
        let pool = try pool()
        defer { pool.close() }
        let first = try pool.withTransaction { try $0.query("select \(41)::int + 1 as answer")[0].decode("answer", as: Int.self) }
        let second = try pool.withTransaction { try $0.query("select \(1)::int + 1 as answer")[0].decode("answer", as: Int.self) }
        XCTAssertEqual([first, second], [42, 2], "each run binds its own value")
        XCTAssertEqual(try namedStatements(like: "select $1::int + 1 as answer", in: pool), 1)
        XCTAssertEqual(try namedStatements(like: "begin", in: pool), 1, "BEGIN, sent with every transaction, is named once")
    }

    func testAFailedParseIsReportedAtItsStatementAndLeavesNoName() throws {
        let pool = try pool()
        defer { pool.close() }
        XCTAssertThrowsError(try pool.withTransaction { try $0.query("select count(*)::int as n from later_table") }) { error in
            XCTAssertEqual((error as? DatabaseError)?.step, .statement)
            XCTAssertEqual((error as? DatabaseError)?.sqlState, "42P01", "undefined table, from the Parse")
        }
        try pool.withConnection { try $0.executeScript("create table later_table (id int)") }
        // Had the failed Parse's name been kept, binding it would fail with 26000.
        XCTAssertEqual(try pool.withTransaction { try $0.query("select count(*)::int as n from later_table")[0].decode("n", as: Int.self) }, 0)
        XCTAssertEqual(pool.statistics.idle, 1, "the connection was kept")
    }

    func testAConnectionWhoseNamedStatementChangedItsResultIsRetired() throws {
        let pool = try pool()
        defer { pool.close() }
        try pool.withConnection { try $0.executeScript("create table shapes (a int); insert into shapes values (1)") }
        let before = try pool.withTransaction { try $0.query("select * from shapes")[0].count }
        XCTAssertEqual(before, 1)
        try pool.withConnection { try $0.executeScript("alter table shapes add column b int") }
        XCTAssertThrowsError(try pool.withTransaction { try $0.query("select * from shapes") }) { error in
            XCTAssertEqual((error as? DatabaseError)?.sqlState, "0A000", "cached plan must not change result type")
        }
        XCTAssertEqual(pool.statistics.idle, 0, "the connection holding the stale statement was closed")
        let after = try pool.withTransaction { try $0.query("select * from shapes")[0].count }
        XCTAssertEqual(after, 2, "a fresh connection prepares the statement anew")
    }
}

/// The per-connection bound: past it, statements go unnamed rather than grow the session.
final class PreparedStatementBoundTests: XCTestCase {
    func testNamesStopAtTheBoundAndKnownTextsKeepTheirs() {
        var statements = PreparedStatements()
        for number in 0..<PreparedStatements.limit {
            guard let name = statements.nameForNew() else { return XCTFail("bound reached early, at \(number)") }
            statements.remember("select \(number)", as: name)
        }
        XCTAssertNil(statements.nameForNew(), "no name past the bound")
        XCTAssertEqual(statements.name(of: "select 0"), "s1", "texts named before keep their names")
        XCTAssertNil(statements.name(of: "select never"))
    }

    /// Texts are hashed from their length and ends only (`StatementText`): texts of one length that
    /// share their first and last bytes and differ in the middle still find their own names, and
    /// equal texts built apart find each other.
    func testTextsThatDifferOnlyInTheMiddleKeepTheirOwnNames() {
        var statements = PreparedStatements()
        let head = "select g.id, g.user_id, g.project_id, g.kind, g.prompt from public.generations g where "
        let tail = " and g.user_id = $2 order by g.created_at desc, g.id desc limit 50"
        let texts = (0..<40).map { head + String(format: "g.c%02d = $1", $0) + tail }
        XCTAssertEqual(Set(texts.map(\.utf8.count)).count, 1, "one length for all, so only the middle tells them apart")
        var expected: [String: String] = [:]
        for text in texts {
            guard let name = statements.nameForNew() else { return XCTFail("bound reached early") }
            statements.remember(text, as: name)
            expected[text] = name
        }
        XCTAssertEqual(Set(expected.values).count, texts.count)
        for (index, text) in texts.enumerated() {
            let rebuilt = String(text.utf8.map { Character(UnicodeScalar($0)) })
            XCTAssertEqual(statements.name(of: rebuilt), expected[text], "text \(index)")
        }
        XCTAssertNil(statements.name(of: texts[3] + " "))
        XCTAssertNil(statements.name(of: String(texts[3].dropLast())))
        XCTAssertNil(statements.name(of: head + "g.c99 = $1" + tail), "same length and ends, another middle")
    }
}
